package volume

import (
	"context"
	"io"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/keyring"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// KeySource makes and re-creates CAAM black keys: a caamc.Device in
// production (adapter_keys.go).
type KeySource interface {
	// Create makes a random red key of size bytes inside the CAAM and
	// returns it as a tagged black key plus its tagged blob.
	Create(enc caamc.Encryption, size int) (blackKey, blob []byte, err error)
	// Import turns a tagged blob back into a tagged black key; a blob made
	// on another SoC or tampered with fails the CAAM integrity check.
	Import(blob []byte) (blackKey []byte, err error)
}

// KeyStore holds key files in the key directory in caam-keygen's layout
// (NAME black key, NAME.bb blob): package keystore in production.
type KeyStore interface {
	// SaveNew writes both files of a new key; it refuses (fail.ErrRefused)
	// if either exists and never overwrites.
	SaveNew(name string, blackKey, blob []byte) error
	// LoadBlob reads NAME.bb; a missing file wraps fail.ErrNotFound.
	LoadBlob(name string) ([]byte, error)
	// Remove deletes both files of a key SaveNew wrote in the same run
	// (rollback of a failed format).
	Remove(name string) error
}

// Mapper is device-mapper: package dm in production.
type Mapper interface {
	Create(name string, targets []dm.Target, opts dm.CreateOptions) error
	Remove(name string, opts dm.RemoveOptions) error
	Info(name string) (dm.Info, error)
	Table(name string) ([]dm.Target, error)
	List() ([]dm.DeviceEntry, error)
	// NodePath is the block device node of a mapping (/dev/mapper/<name>).
	NodePath(name string) string
}

// Keyring is the kernel key retention service: package keyring in production.
type Keyring interface {
	AddLogon(description string, payload []byte, ring keyring.Ring) (keyring.KeyID, error)
	Search(keyType, description string, ring keyring.Ring) (keyring.KeyID, error)
	Unlink(id keyring.KeyID, ring keyring.Ring) error
}

// FsckResult is how a filesystem check ended.
type FsckResult int

const (
	// FsckClean: no errors (e2fsck exit 0).
	FsckClean FsckResult = iota
	// FsckFixed: errors were corrected (e2fsck exit 1).
	FsckFixed
	// FsckRebootAdvised: errors corrected, reboot advised (e2fsck exit 2);
	// that matters for the root filesystem only, so open goes on.
	FsckRebootAdvised
)

// Filesystem makes, checks and recognises filesystems on a mapped volume
// (adapter_filesystem.go runs mke2fs/e2fsck with argv, never a shell).
type Filesystem interface {
	// CheckMkfs says whether Mkfs can make fstype here (format asks before
	// it writes anything): e2fsprogs' mke2fs, not BusyBox's applet.
	CheckMkfs(ctx context.Context, fstype string) error
	Mkfs(ctx context.Context, dev, fstype, label string) error
	Fsck(ctx context.Context, dev, fstype string) (FsckResult, error)
	// Detect returns the filesystem type found on dev ("" for none).
	Detect(dev string) (string, error)
}

// Mounter mounts and unmounts filesystems (mount(2), umount(2)) and finds
// the mount points of a device in /proc/self/mountinfo.
type Mounter interface {
	Mount(source, target, fstype string, readOnly bool) error
	Unmount(target string) error
	// MountPoints lists where dev is mounted, most recent mount last.
	MountPoints(dev string) ([]string, error)
}

// Locker serialises operations on one volume name.
type Locker interface {
	// Lock blocks until the volume's lock is held; unlock releases it.
	Lock(ctx context.Context, name string) (unlock func(), err error)
}

// BlockDev is an open device or image: header reads and writes, probing.
type BlockDev interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
	Close() error
}

// Devices gives access to backing devices.
type Devices interface {
	// Resolve turns a device spec (path, UUID=..., LABEL=...) into a path.
	Resolve(spec string) (string, error)
	// Open opens a device read-only or read-write; excl adds O_EXCL, with
	// which the kernel refuses a block device that is mounted, held by a
	// mapping or opened exclusively by anyone else.
	Open(path string, write, excl bool) (BlockDev, error)
	// Size is the device size in bytes.
	Size(path string) (int64, error)
	// ID is the "major:minor" of a block device, "" for other files: the
	// form in which the kernel prints a table's device.
	ID(path string) (string, error)
	// PathOf turns a "major:minor" back into a /dev path ("" if unknown).
	PathOf(id string) string
	// InUse lists mounts, holders and exclusive openers of a device.
	InUse(path string) ([]probe.Finding, error)
	// ReadDirect reads n bytes at off from the device itself, past the
	// page cache (O_DIRECT; off and n multiples of 4096), to see what the
	// device kept of a write.
	ReadDirect(path string, off int64, n int) ([]byte, error)
}

// KernelFeatures says whether the running kernel can map a dm-crypt cipher.
// Format asks before it writes anything: without dm-crypt or the tk()
// ciphers the first mapping fails, and that came after the header was on
// the device.
type KernelFeatures interface {
	CryptReady(cipher string) error
}
