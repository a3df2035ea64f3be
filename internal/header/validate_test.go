package header

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
)

type fieldCase struct {
	name  string
	field string
	edit  func(h *Header)
}

var fieldCases = []fieldCase{
	{"zero uuid", "UUID", func(h *Header) { h.UUID = uuid.UUID{} }},
	{"label too long", "Label", func(h *Header) { h.Label = strings.Repeat("x", MaxLabelLen+1) }},
	{"label with NUL", "Label", func(h *Header) { h.Label = "a\x00b" }},
	{"label bad utf8", "Label", func(h *Header) { h.Label = "a\xffb" }},
	{"unknown backend", "Backend", func(h *Header) { h.Backend = "tpm" }},
	{"empty cipher", "Cipher", func(h *Header) { h.Cipher = "" }},
	{"cipher with space", "Cipher", func(h *Header) { h.Cipher = "aes xts" }},
	{"cipher too long", "Cipher", func(h *Header) { h.Cipher = strings.Repeat("c", 64) }},
	{"key enc", "KeyEnc", func(h *Header) { h.KeyEnc = "cbc" }},
	{"red key too short", "RedKeyLen", func(h *Header) { h.RedKeyLen, h.KeyLen = 8, 28 }},
	{"red key too long", "RedKeyLen", func(h *Header) { h.RedKeyLen, h.KeyLen = 65, 100 }},
	{"key len inconsistent", "KeyLen", func(h *Header) { h.KeyLen = 32 }}, // keyctl_caam README's :32:
	{"key len ccm vs ecb", "KeyLen", func(h *Header) { h.KeyEnc = "ccm" }},
	{"sector 1000", "SectorSize", func(h *Header) { h.SectorSize = 1000 }},
	{"sector 256", "SectorSize", func(h *Header) { h.SectorSize = 256 }},
	{"sector 8192", "SectorSize", func(h *Header) { h.SectorSize = 8192 }},
	{"sector 0", "SectorSize", func(h *Header) { h.SectorSize = 0 }},
	{"payload below 1MiB", "PayloadOffset", func(h *Header) { h.PayloadOffset = 512 << 10 }},
	{"payload unaligned", "PayloadOffset", func(h *Header) { h.PayloadOffset = 1<<20 + 512 }},
	{"payload size unaligned", "PayloadSize", func(h *Header) { h.PayloadSize = 4097 }},
	{"blob too short", "Blob", func(h *Header) { h.Blob = h.Blob[:20] }},
	{"blob empty", "Blob", func(h *Header) { h.Blob = nil }},
	{"blob too long", "Blob", func(h *Header) { h.Blob = make([]byte, MaxBlobLen+1) }},
	{"blob bad magic", "Blob", func(h *Header) { h.Blob[0] ^= 1 }},
	{"blob red len mismatch", "Blob", func(h *Header) { binary.LittleEndian.PutUint32(h.Blob[12:], 32) }},
	{"blob obj len mismatch", "Blob", func(h *Header) { h.Blob = h.Blob[:len(h.Blob)-1] }},
}

func TestMarshalValidation(t *testing.T) {
	for _, c := range fieldCases {
		t.Run(c.name, func(t *testing.T) {
			h := validHeader()
			c.edit(h)
			_, err := h.Marshal()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Marshal: %v, want ErrInvalid", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("Marshal: %v, want a FieldError for %s", err, c.field)
			}
		})
	}
}

// The same problems in bytes that carry a correct checksum (a buggy or
// hostile writer) must be refused on read too.
func TestUnmarshalValidation(t *testing.T) {
	for _, c := range fieldCases {
		if c.field == "Blob" && (c.name == "blob too long") {
			continue // cannot be encoded: the blob area is 256 bytes
		}
		t.Run(c.name, func(t *testing.T) {
			h := validHeader()
			c.edit(h)
			b := encodeUnchecked(h)
			_, err := Unmarshal(b)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Unmarshal: %v, want ErrCorrupt", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Fatalf("Unmarshal: %v, want a FieldError for %s", err, c.field)
			}
		})
	}
}

func TestUnmarshalRejectsBadEncodings(t *testing.T) {
	edits := map[string]func(b []byte){
		"label not terminated": func(b []byte) { copy(b[offLabel:], strings.Repeat("L", lenLabel)) },
		"junk after NUL":       func(b []byte) { b[offCipher+lenCipher-1] = 'x' },
		"blob len > 256":       func(b []byte) { le.PutUint32(b[offBlobLen:], 300) },
		"nanoseconds":          func(b []byte) { le.PutUint32(b[offCreatedNsec:], 1e9) },
		"header size":          func(b []byte) { le.PutUint16(b[offHeaderSize:], 512) },
	}
	for name, edit := range edits {
		b, _ := validHeader().Marshal()
		edit(b)
		reseal(b)
		if _, err := Unmarshal(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// encodeUnchecked lays out h like Marshal but without validation, then
// seals it, to produce well-checksummed but invalid copies.
func encodeUnchecked(h *Header) []byte {
	good := validHeader()
	b, err := good.Marshal()
	if err != nil {
		panic(err)
	}
	clear := func(off, n int) {
		for i := off; i < off+n; i++ {
			b[i] = 0
		}
	}
	copy(b[offUUID:], h.UUID[:])
	clear(offLabel, lenLabel)
	copy(b[offLabel:offLabel+lenLabel], h.Label)
	clear(offBackend, lenBackend)
	copy(b[offBackend:], h.Backend)
	clear(offCipher, lenCipher)
	copy(b[offCipher:offCipher+lenCipher], h.Cipher)
	clear(offKeyEnc, lenKeyEnc)
	copy(b[offKeyEnc:], h.KeyEnc)
	le.PutUint32(b[offRedKeyLen:], h.RedKeyLen)
	le.PutUint32(b[offKeyLen:], h.KeyLen)
	le.PutUint32(b[offSectorSize:], h.SectorSize)
	le.PutUint64(b[offPayloadOffset:], h.PayloadOffset)
	le.PutUint64(b[offPayloadSize:], h.PayloadSize)
	clear(offBlob, MaxBlobLen)
	copy(b[offBlob:], h.Blob)
	le.PutUint32(b[offBlobLen:], uint32(len(h.Blob)))
	reseal(b)
	return b
}
