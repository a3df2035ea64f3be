package header

import (
	"crypto/sha256"
	"encoding/binary"

	"github.com/google/uuid"
)

// checkDomain separates the key-check pattern from any other SHA-256 use;
// the "v1" changes if the construction ever does.
const checkDomain = "caamcrypt key check v1"

// CheckPattern returns the CheckSize bytes written through the dm-crypt
// mapping into the key-check area at format time and compared at open: if
// the key is wrong (stale black key, foreign blob) dm-crypt decrypts the
// area to different bytes, and open refuses before mounting anything.
//
// Construction (SHA-256 in counter mode), so other tools can recompute it:
// block i (i = 0..127) = SHA-256(checkDomain || uuid (16 bytes) ||
// u32 little-endian i); the pattern is blocks 0..127 concatenated.
// It depends only on the UUID, so it is not a secret, and it differs per
// volume, so a key that fits another caamcrypt volume is still detected.
func CheckPattern(id uuid.UUID) []byte {
	out := make([]byte, 0, CheckSize)
	var ctr [4]byte
	for i := uint32(0); len(out) < CheckSize; i++ {
		binary.LittleEndian.PutUint32(ctr[:], i)
		h := sha256.New()
		h.Write([]byte(checkDomain))
		h.Write(id[:])
		h.Write(ctr[:])
		out = h.Sum(out)
	}
	return out
}
