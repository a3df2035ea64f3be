package dm

import "golang.org/x/sys/unix"

// Key-related errnos dm-crypt returns from a table load (Linux only).
const (
	errnoNoKey      = unix.ENOKEY
	errnoKeyRevoked = unix.EKEYREVOKED
	errnoKeyExpired = unix.EKEYEXPIRED
)
