package caamc

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// TagSize is the length of the tag header before every black key and blob.
const TagSize = 20

// TagMagic is the first header word, the bytes "OgaT" in memory (a
// little-endian u32 reading "TagO").
const TagMagic = 0x5461674f

// tagByteOrder is the header's byte order. The driver writes the five u32
// words in CPU order; every i.MX (ARM) and the x86 test machines are
// little-endian, so files are little-endian and portable between them.
var tagByteOrder = binary.LittleEndian

// Tag is the 20-byte header: magic, version, type, red_key_len, obj_len,
// five native-endian u32 (docs/caam-abi.md §3).
type Tag struct {
	Magic     uint32  // TagMagic
	Version   uint32  // 0
	Type      ObjType // color/object/KEK/encryption/memory/security state
	RedKeyLen uint32  // plaintext key length, 16..64
	ObjLen    uint32  // bytes after the header
}

// Bytes encodes the tag as the driver writes it.
func (t Tag) Bytes() []byte { return t.AppendTo(make([]byte, 0, TagSize)) }

// AppendTo appends the encoded tag to b.
func (t Tag) AppendTo(b []byte) []byte {
	b = tagByteOrder.AppendUint32(b, t.Magic)
	b = tagByteOrder.AppendUint32(b, t.Version)
	b = tagByteOrder.AppendUint32(b, uint32(t.Type))
	b = tagByteOrder.AppendUint32(b, t.RedKeyLen)
	return tagByteOrder.AppendUint32(b, t.ObjLen)
}

// ParseTag decodes the header at the start of b without validating it;
// only a b shorter than TagSize fails (wrapping ErrBadTag).
func ParseTag(b []byte) (Tag, error) {
	if len(b) < TagSize {
		return Tag{}, fmt.Errorf("%w: tagged object truncated: %d bytes, shorter than the %d-byte tag header",
			ErrBadTag, len(b), TagSize)
	}
	return Tag{
		Magic:     tagByteOrder.Uint32(b[0:]),
		Version:   tagByteOrder.Uint32(b[4:]),
		Type:      ObjType(tagByteOrder.Uint32(b[8:])),
		RedKeyLen: tagByteOrder.Uint32(b[12:]),
		ObjLen:    tagByteOrder.Uint32(b[16:]),
	}, nil
}

// ObjType is the tag's type word. The driver today writes 1 (black ECB key,
// JDKEK, general memory) or 9 (same, CCM), and gives the blob the same value
// as its key, so the blob bit is not a reliable way to tell them apart.
type ObjType uint32

// Type bits (docs/caam-abi.md §3).
const (
	TypeBlack     ObjType = 1 << 0 // 0 red (plaintext), 1 black (encrypted)
	TypeBlob      ObjType = 1 << 1 // 0 key, 1 blob
	TypeTDKEK     ObjType = 1 << 2 // key-encryption key: 0 JDKEK, 1 TDKEK
	TypeCCM       ObjType = 1 << 3 // 0 AES-ECB, 1 AES-CCM
	TypeSecureMem ObjType = 1 << 4 // 0 general memory, 1 secure memory
	secStateShift         = 5      // bits 5-6: security state
	secStateMask  ObjType = 3 << secStateShift
	knownTypeBits         = TypeBlack | TypeBlob | TypeTDKEK | TypeCCM | TypeSecureMem | secStateMask
)

// Black reports an encrypted (black) object rather than a red one.
func (t ObjType) Black() bool { return t&TypeBlack != 0 }

// Blob reports the blob bit.
func (t ObjType) Blob() bool { return t&TypeBlob != 0 }

// TDKEK reports a key covered by the trusted-descriptor KEK, not the JDKEK.
func (t ObjType) TDKEK() bool { return t&TypeTDKEK != 0 }

// CCM reports AES-CCM (else AES-ECB) encryption of the key.
func (t ObjType) CCM() bool { return t&TypeCCM != 0 }

// SecureMem reports an object kept in CAAM secure memory.
func (t ObjType) SecureMem() bool { return t&TypeSecureMem != 0 }

// SecState is the 2-bit security state field (bits 5-6).
func (t ObjType) SecState() uint8 { return uint8((t & secStateMask) >> secStateShift) }

// Encryption is the key encryption the type names.
func (t ObjType) Encryption() Encryption {
	if t.CCM() {
		return CCM
	}
	return ECB
}

func (t ObjType) colorName() string {
	if t.Black() {
		return "black"
	}
	return "red"
}

func (t ObjType) objectName() string {
	if t.Blob() {
		return "blob"
	}
	return "key"
}

func (t ObjType) kekName() string {
	if t.TDKEK() {
		return "TDKEK"
	}
	return "JDKEK"
}

func (t ObjType) memoryName() string {
	if t.SecureMem() {
		return "secure"
	}
	return "general"
}

// String lists every field, e.g. "0x9 (black key, CCM, JDKEK, general
// memory, security state 0)"; unknown high bits are shown as such.
func (t ObjType) String() string {
	parts := []string{
		t.colorName() + " " + t.objectName(),
		strings.ToUpper(t.Encryption().String()),
		t.kekName(),
		t.memoryName() + " memory",
		fmt.Sprintf("security state %d", t.SecState()),
	}
	if extra := t &^ knownTypeBits; extra != 0 {
		parts = append(parts, fmt.Sprintf("unknown bits %#x", uint32(extra)))
	}
	return fmt.Sprintf("%#x (%s)", uint32(t), strings.Join(parts, ", "))
}
