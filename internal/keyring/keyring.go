// Package keyring puts dm-crypt keys into the Linux kernel keyring and finds
// and removes them again, in pure Go over keyctl(2) (golang.org/x/sys/unix).
//
// caamcrypt stores the CAAM tagged black key as a "logon" key: user space can
// add, search, link and revoke a logon key but never read its payload back.
// dm-crypt then looks it up by description (":36:logon:<desc>" in the table)
// with request_key() in the keyrings of the process loading the table.
package keyring

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Ring names a keyring: one of the special keyrings below, or (positive)
// the serial number of a keyring.
type Ring int32

// The special keyrings of the calling process (keyrings(7)).
const (
	Thread      Ring = unix.KEY_SPEC_THREAD_KEYRING       // @t
	Process     Ring = unix.KEY_SPEC_PROCESS_KEYRING      // @p
	Session     Ring = unix.KEY_SPEC_SESSION_KEYRING      // @s
	User        Ring = unix.KEY_SPEC_USER_KEYRING         // @u
	UserSession Ring = unix.KEY_SPEC_USER_SESSION_KEYRING // @us
)

// DefaultRing is where caamcrypt puts keys: the user keyring @u.
//
// dm-crypt finds a key through the thread, process and session keyrings of
// the process that loads the table; a process without a session keyring
// searches its user-session keyring @us, which links @u. Facts seen on the
// targets: in a busybox init, "keyctl padd logon ... @s" in one process and
// "dmsetup create" in another failed with ENOKEY, because keyctl created a
// fresh session keyring for itself that died with it; adding to @u worked.
// In Go the thread keyring is unusable (goroutines move between OS threads
// and the ioctl may run on another one), and a session or process keyring
// the kernel creates on demand is installed in the calling thread's
// credentials only, so other threads never see it. @u exists for the whole
// user and is shared by every thread. Where the session keyring does not
// link @u (systemd services with KeyringMode=private), MakeVisible links @u
// into that session keyring.
const DefaultRing = User

// String returns the keyctl(1) name of r ("@u") or its serial number.
func (r Ring) String() string {
	switch r {
	case Thread:
		return "@t"
	case Process:
		return "@p"
	case Session:
		return "@s"
	case User:
		return "@u"
	case UserSession:
		return "@us"
	}
	return strconv.FormatInt(int64(r), 10)
}

// ParseRing accepts keyctl(1) names (@t @p @s @u @us), the words thread,
// process, session, user, user-session, or a positive keyring serial.
func ParseRing(s string) (Ring, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "@t", "thread":
		return Thread, nil
	case "@p", "process":
		return Process, nil
	case "@s", "session":
		return Session, nil
	case "@u", "user":
		return User, nil
	case "@us", "user-session", "user_session", "usersession":
		return UserSession, nil
	}
	if n, err := strconv.ParseInt(s, 10, 32); err == nil && n > 0 {
		return Ring(n), nil
	}
	return 0, fmt.Errorf("keyring: %q is not a keyring (want @t, @p, @s, @u, @us or a keyring serial number): %w", s, ErrInvalid)
}

// KeyID is the serial number of a key.
type KeyID int32

var (
	// ErrNotFound: no such key (ENOKEY), or the key is not in that keyring.
	ErrNotFound = errors.New("key not found")
	// ErrInvalid: a description, payload or keyring was refused before any
	// kernel call.
	ErrInvalid = errors.New("invalid keyring argument")
)

// Error is a failed keyring call; Err is the errno when the kernel refused,
// so errors.Is(err, unix.EDQUOT) works, and ENOKEY also matches ErrNotFound.
type Error struct {
	Op  string // "add logon key \"caamcrypt:vol\" to @u"
	Err error
}

// Error formats the failure as "keyring: <op>: <cause>[: <hint>]".
func (e *Error) Error() string {
	msg := "keyring: " + e.Op + ": " + e.Err.Error()
	var errno unix.Errno
	if errors.As(e.Err, &errno) {
		switch errno {
		case unix.EDQUOT:
			msg += ": the key quota of this user is used up (see /proc/key-users and /proc/sys/kernel/keys/*maxbytes)"
		case unix.EACCES, unix.EPERM:
			msg += ": not permitted for this user or keyring"
		case unix.ENOSYS:
			msg += ": the kernel has no key management (CONFIG_KEYS) or seccomp blocks keyctl"
		case unix.EKEYREVOKED, unix.EKEYEXPIRED:
			msg += ": the key or keyring was revoked or has expired"
		}
	}
	return msg
}

// Unwrap returns the errno or sentinel underneath.
func (e *Error) Unwrap() error { return e.Err }

// Is makes ENOKEY (no such key) and ENOENT (not linked in that keyring)
// match ErrNotFound.
func (e *Error) Is(target error) bool {
	if target != ErrNotFound {
		return false
	}
	var errno unix.Errno
	return errors.As(e.Err, &errno) && (errno == unix.ENOKEY || errno == unix.ENOENT)
}
