// Package dm creates, inspects and removes device-mapper devices through
// libdevmapper, and builds and parses dm-crypt tables in pure Go.
//
// Every C call lives in libdm_cgo.go (built with linux && cgo); the
// libdevmapper log hook is in log_export.go. Everything else is pure Go, so
// the package builds without cgo: the device calls then return
// ErrUnsupported, while the crypt table helpers keep working.
//
// libdevmapper keeps global state (the control fd, queued /dev/mapper node
// operations, udev sync settings, the log hook) and is not thread-safe, so
// every public call takes one package lock for its whole duration.
package dm

// NodePath returns the /dev/mapper path of a device-mapper device. Device
// nodes are made there by udev (dm rules) or, without udev, by libdevmapper.
func NodePath(name string) string { return "/dev/mapper/" + name }

// Target is one line of a device-mapper table: Length 512-byte sectors
// starting at sector Start, handled by target Type with its Params.
type Target struct {
	Start, Length uint64
	Type, Params  string
}

// CreateOptions are the optional settings of Create.
type CreateOptions struct {
	// UUID is the device-mapper UUID (up to 128 bytes), empty for none.
	UUID string
	// ReadOnly loads the table read-only.
	ReadOnly bool
}

// RemoveOptions are the optional settings of Remove.
type RemoveOptions struct {
	// Retries is how many more times a removal that fails with EBUSY is
	// tried, with a growing pause between tries (a short-lived opener such
	// as udev's blkid probe often holds a fresh device for a moment).
	// Zero means DefaultRemoveRetries; a negative value means no retry.
	Retries int
	// Deferred asks the kernel to remove the device when its last opener
	// closes it, if it is open now (DM_DEFERRED_REMOVE, kernel 3.13+).
	Deferred bool
	// Force, when the device stays busy, replaces its table with an
	// "error" target and tries once more: I/O to it then fails and the old
	// targets (for dm-crypt: the key copy in the kernel) are destroyed even
	// if the device itself cannot be removed while it is open.
	Force bool
}

// DefaultRemoveRetries is the retry count used when RemoveOptions.Retries is 0.
const DefaultRemoveRetries = 5

// Info is the state of a device as DM_DEV_STATUS reports it.
type Info struct {
	Exists, Suspended, ReadOnly bool
	OpenCount                   int32
	Major, Minor                uint32
	UUID                        string
	TargetCount                 int32
	// DeferredRemove is set when a deferred removal is pending.
	DeferredRemove bool
}

// DeviceEntry is one device of List.
type DeviceEntry struct {
	Name         string
	Major, Minor uint32
}

// TargetVersion is one target type the kernel has loaded (dmsetup targets).
type TargetVersion struct {
	Name                string
	Major, Minor, Patch uint32
}
