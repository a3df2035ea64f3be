package probe

// ExtSize returns the size in bytes of the ext2/3/4 file system whose
// first 2048 bytes are b (superblock at 1024: s_blocks_count_lo at 4,
// s_log_block_size at 24, s_magic at 56, s_feature_incompat at 96 with
// INCOMPAT_64BIT 0x80, s_blocks_count_hi at 0x150); ok is false when b
// holds no ext superblock.
func ExtSize(b []byte) (size int64, ok bool) {
	if len(b) < 2048 {
		return 0, false
	}
	sb := b[1024:2048]
	if le.Uint16(sb[56:]) != 0xEF53 || le.Uint32(sb[24:]) > 6 {
		return 0, false
	}
	blocks := uint64(le.Uint32(sb[4:]))
	if le.Uint32(sb[96:])&0x80 != 0 {
		blocks |= uint64(le.Uint32(sb[0x150:])) << 32
	}
	return int64(blocks) << (10 + le.Uint32(sb[24:])), true
}
