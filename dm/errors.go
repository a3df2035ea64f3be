package dm

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

var (
	// ErrNotFound: no device-mapper device has that name (kernel ENXIO).
	ErrNotFound = errors.New("no such device-mapper device")
	// ErrExists: a device with that name already exists (kernel EEXIST).
	ErrExists = errors.New("device-mapper device already exists")
	// ErrNoNode: the mapping exists but /dev/mapper/<name> never appeared.
	ErrNoNode = errors.New("device node did not appear")
	// ErrInvalid: a name, UUID, table or crypt parameter was rejected
	// before anything was sent to the kernel.
	ErrInvalid = errors.New("invalid device-mapper argument")
	// ErrLibrary: libdevmapper failed without an ioctl errno (for example
	// it could not open /dev/mapper/control). The error carries the
	// library's last error line; all its lines are logged at Debug.
	ErrLibrary = errors.New("libdevmapper call failed before reaching the kernel (is dm-mod loaded?)")
	// ErrUnsupported: this binary was built without cgo or not for Linux.
	ErrUnsupported = errors.New("device-mapper support not built in (needs Linux and cgo with libdevmapper)")
)

// Error is a failed device-mapper operation on one device. Err is the
// kernel errno (unix.Errno) when there was one, so errors.Is(err, unix.EBUSY)
// works; errors.Is(err, ErrExists) / ErrNotFound match EEXIST / ENXIO too.
type Error struct {
	Op     string // "create", "remove", "get table of", ...
	Target string // target type for messages ("crypt"), may be empty
	Name   string // device name; empty for calls on no one device (list)
	Step   string // sub-step of a multi-step operation ("load table"), may be empty
	Err    error
}

// Error formats the failure as "dm: <op> [<target>] device \"<name>\": [<step>: ]<cause>[: <hint>]".
func (e *Error) Error() string {
	msg := "dm: " + e.Op + ": "
	if e.Name != "" {
		kind := "device"
		if e.Target != "" {
			kind = e.Target + " device"
		}
		msg = fmt.Sprintf("dm: %s %s %q: ", e.Op, kind, e.Name)
	}
	if e.Step != "" {
		msg += e.Step + ": "
	}
	msg += e.Err.Error()
	if h := e.hint(); h != "" {
		msg += ": " + h
	}
	return msg
}

// Unwrap returns the errno or sentinel underneath.
func (e *Error) Unwrap() error { return e.Err }

// Is maps kernel errnos onto the package sentinels.
func (e *Error) Is(target error) bool {
	var errno unix.Errno
	if !errors.As(e.Err, &errno) {
		return false
	}
	switch target {
	case ErrExists:
		return errno == unix.EEXIST
	case ErrNotFound:
		// The dm ioctls answer ENXIO for an unknown name (dm-ioctl.c
		// find_device); ENODEV is accepted for older kernels.
		return errno == unix.ENXIO || errno == unix.ENODEV
	}
	return false
}

// hint tells the user what to do about the common failures.
func (e *Error) hint() string {
	var errno unix.Errno
	if !errors.As(e.Err, &errno) {
		return ""
	}
	switch errno {
	case unix.EPERM, unix.EACCES:
		return "device-mapper needs root (CAP_SYS_ADMIN)"
	case unix.EEXIST:
		return fmt.Sprintf("a device with this name (or UUID) exists: close it first (dmsetup remove %s) or choose another name", e.Name)
	case unix.ENXIO, unix.ENODEV:
		return "no device-mapper device has this name (dmsetup ls lists them)"
	case unix.EBUSY:
		return "the device is in use (mounted, or held open by a process or another device): unmount or close it and retry"
	case errnoNoKey:
		return "the kernel found no key with the table's key description in the keyrings this process can search: add it to the user keyring (@u) and retry"
	case errnoKeyRevoked, errnoKeyExpired:
		return "the key named in the table was revoked or expired: add it again"
	case unix.EINVAL:
		if e.Target == "crypt" {
			return "the kernel rejected the crypt table: check that the cipher is registered (/proc/crypto, e.g. tk(cbc(aes)) from the CAAM driver), that the key spec length equals the key's size (:36: for a 16-byte ECB black key) and read dmesg"
		}
		return "the kernel rejected the table (see dmesg)"
	}
	return ""
}

// libraryError is a libdevmapper failure without an ioctl errno; it carries
// the library's own last error line, if any, and matches ErrLibrary.
type libraryError struct{ detail string }

func (e *libraryError) Error() string {
	if e.detail == "" {
		return ErrLibrary.Error()
	}
	return ErrLibrary.Error() + ": libdevmapper says: " + e.detail
}

func (e *libraryError) Unwrap() error { return ErrLibrary }
