package probe

// Finding is one reason a device may hold data or be in use.
type Finding struct {
	Kind   string // one of the Kind* constants
	Detail string // what was found, in words a user understands
}

// String renders the finding as "kind: detail".
func (f Finding) String() string { return f.Kind + ": " + f.Detail }

// Finding kinds.
const (
	KindFilesystem     = "filesystem"      // a filesystem signature
	KindPartitionTable = "partition table" // MBR or GPT
	KindEncrypted      = "encrypted volume"
	KindSwap           = "swap"
	KindMounted        = "mounted"     // the device or a partition of it is mounted
	KindHolder         = "holder"      // a kernel device stacked on it (dm, md, loop...)
	KindBusy           = "busy"        // open exclusively by someone (EBUSY on O_EXCL)
	KindLoop           = "loop device" // a loop device is backed by this image file
)
