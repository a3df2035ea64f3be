//go:build caamcrypt_testhooks

package testpause

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Enabled reports whether this binary was built with the pause hooks.
const Enabled = true

// maxPause bounds a pause, so a test that forgot its process never hangs
// the guest for ever.
const maxPause = 5 * time.Minute

// Point pauses at the point named name when CAAMCRYPT_TEST_PAUSE names it:
// it writes the marker file (written whole, then renamed, so a test polling
// for it never reads half of it) and blocks until ctx ends or maxPause.
func Point(ctx context.Context, name string) {
	if os.Getenv("CAAMCRYPT_TEST_PAUSE") != name {
		return
	}
	marker := os.Getenv("CAAMCRYPT_TEST_PAUSE_MARKER")
	if marker == "" {
		marker = "/tmp/caamcrypt-pause"
	}
	tmp := marker + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%s %d\n", name, os.Getpid())), 0o600); err == nil {
		_ = os.Rename(tmp, marker)
	}
	select {
	case <-ctx.Done():
	case <-time.After(maxPause):
	}
}
