package volume

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// Fields of the ext2/3/4 superblock (struct ext4_super_block, kernel
// Documentation/filesystems/ext4/super.rst), at byte 1024 of the device.
const (
	extSuperOffset      = 1024
	extSuperSize        = 1024
	extMntCount         = 0x34 // le16 mounts since the last check
	extMaxMntCount      = 0x36 // le16 signed; <= 0: no mount-count check
	extMagic            = 0x38 // le16 0xEF53
	extState            = 0x3A // le16
	extCheckInterval    = 0x44 // le32 seconds; 0: no time-based check
	extFeatureIncompat  = 0x60
	extFeatureROCompat  = 0x64
	extLastOrphan       = 0xE8  // le32 head of the orphan inode list
	extErrorCount       = 0x194 // le32 errors recorded by the kernel
	extChecksum         = 0x3FC // le32 crc32c of the bytes before it
	extStateValid       = 0x1   // EXT2_VALID_FS: cleanly unmounted
	extStateErrors      = 0x2   // EXT2_ERROR_FS: the kernel saw errors
	extIncompatRecover  = 0x4   // journal needs replay
	extROCompatCsum     = 0x400
	extROCompatOrphanOK = 0x10000 // orphan file holds entries (orphan_present)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// extCheckReason says why e2fsck -p would check the ext filesystem whose
// superblock is sb, or "" when it would only report "clean" and exit 0:
// the conditions of e2fsck's preen-mode skip (not cleanly unmounted,
// errors recorded, journal to replay, orphans, mount count or check
// interval reached), read conservatively: any doubt, including a bad
// superblock checksum or a time-based check interval, is a reason. Running
// e2fsck only then keeps a process start and a superblock read by another
// program off every boot's open (issue 5, "Speed and footprint").
func extCheckReason(sb []byte) string {
	le := binary.LittleEndian
	switch {
	case len(sb) < extSuperSize:
		return "short superblock"
	case le.Uint16(sb[extMagic:]) != 0xEF53:
		return "no ext superblock"
	case le.Uint32(sb[extFeatureROCompat:])&extROCompatCsum != 0 &&
		le.Uint32(sb[extChecksum:]) != ^crc32.Checksum(sb[:extChecksum], castagnoli):
		return "superblock checksum mismatch"
	}
	state := le.Uint16(sb[extState:])
	mounts, maxMounts := le.Uint16(sb[extMntCount:]), int16(le.Uint16(sb[extMaxMntCount:]))
	switch {
	case state&extStateErrors != 0 || le.Uint32(sb[extErrorCount:]) != 0:
		return "errors recorded"
	case state&extStateValid == 0:
		return "not cleanly unmounted"
	case le.Uint32(sb[extFeatureIncompat:])&extIncompatRecover != 0:
		return "journal needs recovery"
	case le.Uint32(sb[extLastOrphan:]) != 0 || le.Uint32(sb[extFeatureROCompat:])&extROCompatOrphanOK != 0:
		return "orphan inodes"
	case maxMounts > 0 && int(mounts) >= int(maxMounts):
		return fmt.Sprintf("mounted %d times (check every %d)", mounts, maxMounts)
	case le.Uint32(sb[extCheckInterval:]) != 0:
		return "time-based checks enabled"
	}
	return ""
}

// readExtCheckReason reads dev's superblock and returns extCheckReason; a
// read failure is a reason too (e2fsck then reports it properly).
func readExtCheckReason(dev string) string {
	f, err := os.Open(dev)
	if err != nil {
		return "cannot read superblock: " + err.Error()
	}
	defer f.Close()
	sb := make([]byte, extSuperSize)
	if _, err := f.ReadAt(sb, extSuperOffset); err != nil && err != io.EOF {
		return "cannot read superblock: " + err.Error()
	}
	return extCheckReason(sb)
}
