//go:build !caamcrypt_testhooks

package testpause

import "context"

// Enabled reports whether this binary was built with the pause hooks.
const Enabled = false

// Point does nothing in a release build.
func Point(context.Context, string) {}
