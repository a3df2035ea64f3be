package probe

import (
	"fmt"
	"strings"
)

// bootSig reports the 0x55AA signature that ends both an MBR and a FAT boot
// sector.
func bootSig(b []byte) bool { return b[510] == 0x55 && b[511] == 0xAA }

// fatBPB reports whether sector 0 holds a plausible FAT BIOS parameter
// block: a jump instruction, bytes per sector a power of two 512..4096,
// sectors per cluster a power of two, reserved sectors > 0, one or two FATs
// and a valid media byte. An MBR has boot code there and fails these.
func fatBPB(b []byte) bool {
	jump := (b[0] == 0xEB && b[2] == 0x90) || b[0] == 0xE9
	bps := uint32(le.Uint16(b[11:]))
	spc := uint32(b[13])
	media := b[21]
	return jump && isPow2(bps, 512, 4096) && isPow2(spc, 1, 128) &&
		le.Uint16(b[14:]) != 0 && (b[16] == 1 || b[16] == 2) &&
		(media == 0xF0 || media >= 0xF8)
}

// fat: FAT12/16 keep their extended BPB at 36 (boot signature 0x29 at 38,
// volume id at 39, label[11] at 43, type[8] at 54); FAT32 (16-bit FAT size
// at 22 is zero) keeps it at 64 (signature at 66, id at 67, label at 71,
// type at 82).
func fat(b []byte) []Finding {
	if !bootSig(b) || !fatBPB(b) {
		return nil
	}
	sig, id, lab, typ := 38, 39, 43, 54
	if le.Uint16(b[22:]) == 0 {
		sig, id, lab, typ = 66, 67, 71, 82
	}
	kind := "FAT filesystem"
	if t := cstr(b[typ : typ+8]); strings.HasPrefix(t, "FAT") {
		kind = t + " (vfat) filesystem"
	}
	label, serial := "", ""
	if b[sig] == 0x29 {
		if l := cstr(b[lab : lab+11]); l != "NO NAME" {
			label = l
		}
		serial = fmt.Sprintf("%04X-%04X", le.Uint16(b[id+2:]), le.Uint16(b[id:]))
	}
	return []Finding{{KindFilesystem, describe(kind, label, serial)}}
}

// partitionTable reports a GPT ("EFI PART" header in LBA 1, i.e. at 512
// with 512-byte sectors or 4096 with 4 KiB sectors) or else an MBR: boot
// signature, no FAT BPB, four entries at 446 each with status 0x00/0x80 and
// at least one with a type and a size.
func partitionTable(b []byte) []Finding {
	for _, lba := range []int{512, 4096} {
		if string(b[lba:lba+8]) == "EFI PART" {
			return []Finding{{KindPartitionTable, fmt.Sprintf("GPT partition table (%d-byte sectors)", lba)}}
		}
	}
	if !bootSig(b) || fatBPB(b) {
		return nil
	}
	used := 0
	for i := 0; i < 4; i++ {
		e := b[446+16*i : 446+16*(i+1)]
		if e[0] != 0 && e[0] != 0x80 {
			return nil
		}
		if e[4] != 0 && le.Uint32(e[12:]) != 0 {
			used++
		}
	}
	if used == 0 {
		return nil
	}
	return []Finding{{KindPartitionTable, fmt.Sprintf("MBR (DOS) partition table with %d partition(s)", used)}}
}
