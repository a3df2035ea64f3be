package header

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// validate checks every field of h against what the format can hold and
// what open can use. It runs on both Marshal (so nothing unusable is ever
// written) and Unmarshal (so a header that passes its checksum but was
// written by a buggy tool is still refused). It returns a *FieldError.
func validate(h *Header) *FieldError {
	if h.Version != CurrentVersion {
		return fieldErr("Version", "%d is not %d", h.Version, CurrentVersion)
	}
	if h.UUID == (uuid.UUID{}) {
		return fieldErr("UUID", "is the zero UUID")
	}
	if len(h.Label) > MaxLabelLen {
		return fieldErr("Label", "%d bytes, at most %d allowed", len(h.Label), MaxLabelLen)
	}
	if strings.IndexByte(h.Label, 0) >= 0 || !utf8.ValidString(h.Label) {
		return fieldErr("Label", "contains a NUL byte or is not valid UTF-8")
	}
	if h.Backend != BackendCAAMBlob {
		return fieldErr("Backend", "%q is not %q", h.Backend, BackendCAAMBlob)
	}
	if err := checkToken("Cipher", h.Cipher, lenCipher-1); err != nil {
		return err
	}
	if h.KeyEnc != "ecb" && h.KeyEnc != "ccm" {
		return fieldErr("KeyEnc", "%q is not ecb or ccm", h.KeyEnc)
	}
	if h.RedKeyLen < 16 || h.RedKeyLen > 64 {
		return fieldErr("RedKeyLen", "%d is outside 16..64 bytes", h.RedKeyLen)
	}
	if want := KeyLenFor(h.KeyEnc, h.RedKeyLen); h.KeyLen != want {
		return fieldErr("KeyLen", "%d does not match a %d-byte %s black key (%d)", h.KeyLen, h.RedKeyLen, h.KeyEnc, want)
	}
	ss := h.SectorSize
	if ss < 512 || ss > 4096 || ss&(ss-1) != 0 {
		return fieldErr("SectorSize", "%d is not a power of two in 512..4096", ss)
	}
	if h.PayloadOffset < MinPayloadOffset || h.PayloadOffset%uint64(ss) != 0 {
		return fieldErr("PayloadOffset", "%d is below %d or not a multiple of the sector size %d", h.PayloadOffset, MinPayloadOffset, ss)
	}
	if h.PayloadSize%uint64(ss) != 0 {
		return fieldErr("PayloadSize", "%d is not a multiple of the sector size %d", h.PayloadSize, ss)
	}
	return validateBlob(h)
}

// validateBlob checks the tagged blob's size and tag (docs/caam-abi.md §3:
// five little-endian u32 magic, version, type, red_key_len, obj_len).
func validateBlob(h *Header) *FieldError {
	b := h.Blob
	if len(b) < MinBlobLen || len(b) > MaxBlobLen {
		return fieldErr("Blob", "%d bytes, must be %d..%d", len(b), MinBlobLen, MaxBlobLen)
	}
	if m := binary.LittleEndian.Uint32(b[0:]); m != TagMagic {
		return fieldErr("Blob", "tag magic %#08x is not %#08x", m, TagMagic)
	}
	if red := binary.LittleEndian.Uint32(b[12:]); red != h.RedKeyLen {
		return fieldErr("Blob", "tag red key length %d does not match RedKeyLen %d", red, h.RedKeyLen)
	}
	// caam-keygen IMPORT refuses a blob whose obj_len differs from blob_len-20.
	if obj := binary.LittleEndian.Uint32(b[16:]); obj != uint32(len(b)-tagSize) {
		return fieldErr("Blob", "tag object length %d does not match %d bytes after the tag", obj, len(b)-tagSize)
	}
	return nil
}

// checkToken requires a non-empty printable ASCII string without spaces of
// at most max bytes: cipher specs go into a dm-crypt table line, where a
// space would split the field.
func checkToken(field, s string, max int) *FieldError {
	if s == "" || len(s) > max {
		return fieldErr(field, "%d bytes, must be 1..%d", len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return fieldErr(field, "byte %d (%#02x) is not printable ASCII without spaces", i, s[i])
		}
	}
	return nil
}
