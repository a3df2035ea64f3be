package probe

import (
	"bytes"
	"fmt"
)

// ext2/3/4: superblock at byte 1024, s_magic 0xEF53 (le16) at superblock
// offset 56; s_log_block_size at 24, s_rev_level at 76, s_feature_compat at
// 92, s_feature_incompat at 96, s_feature_ro_compat at 100, s_uuid at 104,
// s_volume_name[16] at 120.
func ext(b []byte) []Finding {
	sb := b[1024:2048]
	if le.Uint16(sb[56:]) != 0xEF53 || le.Uint32(sb[24:]) > 6 || le.Uint32(sb[76:]) > 1 {
		return nil
	}
	compat, incompat, ro := le.Uint32(sb[92:]), le.Uint32(sb[96:]), le.Uint32(sb[100:])
	const (
		hasJournal    = 0x4
		journalDev    = 0x8
		ext3Incompat  = 0x2 | 0x4 | 0x10 // filetype, recover, meta_bg
		ext3ROCompat  = 0x1 | 0x2 | 0x4  // sparse_super, large_file, btree_dir
		incompatRecov = 0x4
	)
	var kind string
	switch {
	case incompat&journalDev != 0:
		kind = "ext3/4 external journal"
	case incompat&^ext3Incompat != 0 || ro&^ext3ROCompat != 0:
		kind = "ext4 filesystem"
	case compat&hasJournal != 0:
		kind = "ext3 filesystem"
	default:
		kind = "ext2 filesystem"
	}
	if incompat&incompatRecov != 0 {
		kind += " (journal needs recovery: it was not cleanly unmounted)"
	}
	return []Finding{{KindFilesystem, describe(kind, cstr(sb[120:136]), uuidString(sb[104:120]))}}
}

// XFS: superblock at 0, big-endian: "XFSB", sb_blocksize at 4, sb_uuid at
// 32, sb_fname[12] at 108.
func xfs(b []byte) []Finding {
	if string(b[0:4]) != "XFSB" || !isPow2(be.Uint32(b[4:]), 512, 65536) {
		return nil
	}
	return []Finding{{KindFilesystem, describe("XFS filesystem", cstr(b[108:120]), uuidString(b[32:48]))}}
}

// btrfs: superblock at 64 KiB: fsid at +0x20, magic "_BHRfS_M" at +0x40,
// label[256] at +0x12b.
func btrfs(b []byte) []Finding {
	sb := b[64<<10:]
	if string(sb[0x40:0x48]) != "_BHRfS_M" {
		return nil
	}
	return []Finding{{KindFilesystem, describe("btrfs filesystem", cstr(sb[0x12b:0x12b+256]), uuidString(sb[0x20:0x30]))}}
}

// squashfs: "hsqs" (le32 0x73717368) at 0, s_major (le16) at 28.
func squashfs(b []byte) []Finding {
	if string(b[0:4]) != "hsqs" {
		return nil
	}
	major := le.Uint16(b[28:])
	if major < 1 || major > 4 {
		return nil
	}
	return []Finding{{KindFilesystem, fmt.Sprintf("squashfs %d.%d filesystem (read-only image)", major, le.Uint16(b[30:]))}}
}

// exfatNTFS: both put an OEM name at byte 3 of the boot sector.
func exfatNTFS(b []byte) []Finding {
	switch string(b[3:11]) {
	case "NTFS    ":
		return []Finding{{KindFilesystem, "NTFS filesystem"}}
	case "EXFAT   ":
		return []Finding{{KindFilesystem, "exFAT filesystem"}}
	}
	return nil
}

// ISO 9660: primary volume descriptor at 32 KiB: type 1, "CD001", volume
// identifier[32] at +40.
func iso9660(b []byte) []Finding {
	pvd := b[32<<10:]
	if string(pvd[1:6]) != "CD001" {
		return nil
	}
	return []Finding{{KindFilesystem, describe("ISO 9660 filesystem (CD image)", cstr(pvd[40:72]), "")}}
}

// swap: the last 10 bytes of the first page read "SWAPSPACE2" (v1) or
// "SWAP-SPACE" (v0). The page size is the one of the machine that ran
// mkswap: 4 KiB on x86 and most ARM, 16 or 64 KiB on some arm64 kernels.
// v1 header: uuid[16] at 1036, volume_name[16] at 1052.
func swap(b []byte) []Finding {
	for _, ps := range []int{4096, 8192, 16384, 65536} {
		switch string(b[ps-10 : ps]) {
		case "SWAPSPACE2":
			return []Finding{{KindSwap, describe("Linux swap area", cstr(b[1052:1068]), uuidString(b[1036:1052]))}}
		case "SWAP-SPACE":
			return []Finding{{KindSwap, "Linux swap area (old format)"}}
		}
	}
	return nil
}

// luks: "LUKS\xba\xbe" at 0, version (be16) at 6; uuid[40] text at 168 in
// both versions, LUKS2 label[48] at 24.
func luks(b []byte) []Finding {
	if !bytes.Equal(b[0:6], []byte("LUKS\xba\xbe")) {
		return nil
	}
	v := be.Uint16(b[6:])
	label := ""
	if v == 2 {
		label = cstr(b[24:72])
	}
	return []Finding{{KindEncrypted, describe(fmt.Sprintf("LUKS%d encrypted volume (cryptsetup)", v), label, cstr(b[168:208]))}}
}
