//go:build !linux

package dm

import "golang.org/x/sys/unix"

// Other systems have no kernel keyring; these never match a real errno
// there because device-mapper calls fail with ErrUnsupported first.
const (
	errnoNoKey      = unix.Errno(0x7fff)
	errnoKeyRevoked = unix.Errno(0x7ffe)
	errnoKeyExpired = unix.Errno(0x7ffd)
)
