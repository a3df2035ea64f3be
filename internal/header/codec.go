package header

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

var le = binary.LittleEndian

// Marshal validates h and encodes it as one CopySize-byte header copy with
// its checksum. A zero Version is written as CurrentVersion. Errors wrap
// ErrInvalid and a *FieldError.
func (h *Header) Marshal() ([]byte, error) {
	v := *h
	if v.Version == 0 {
		v.Version = CurrentVersion
	}
	if v.Version != CurrentVersion {
		return nil, fmt.Errorf("%w: cannot write version %d, this program writes %d", ErrVersion, v.Version, CurrentVersion)
	}
	if fe := validate(&v); fe != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, fe)
	}
	if v.Flags&^knownFlags != 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, fieldErr("Flags", "unknown bits %#x", v.Flags&^knownFlags))
	}
	b := make([]byte, CopySize)
	copy(b[offMagic:], Magic[:])
	le.PutUint16(b[offMajor:], v.Version)
	le.PutUint16(b[offMinor:], currentMinor)
	le.PutUint16(b[offHeaderSize:], CopySize)
	le.PutUint32(b[offFlags:], v.Flags)
	copy(b[offUUID:], v.UUID[:])
	copy(b[offLabel:offLabel+lenLabel], v.Label)
	copy(b[offBackend:offBackend+lenBackend], v.Backend)
	copy(b[offCipher:offCipher+lenCipher], v.Cipher)
	copy(b[offKeyEnc:offKeyEnc+lenKeyEnc], v.KeyEnc)
	le.PutUint32(b[offRedKeyLen:], v.RedKeyLen)
	le.PutUint32(b[offKeyLen:], v.KeyLen)
	le.PutUint32(b[offSectorSize:], v.SectorSize)
	le.PutUint32(b[offBlobLen:], uint32(len(v.Blob)))
	le.PutUint64(b[offPayloadOffset:], v.PayloadOffset)
	le.PutUint64(b[offPayloadSize:], v.PayloadSize)
	le.PutUint64(b[offCreatedSec:], uint64(v.Created.Unix()))
	le.PutUint32(b[offCreatedNsec:], uint32(v.Created.Nanosecond()))
	copy(b[offBlob:offBlob+MaxBlobLen], v.Blob)
	sum := sha256.Sum256(b[:offChecksum])
	copy(b[offChecksum:], sum[:])
	return b, nil
}

// Unmarshal decodes one header copy. It checks, in this order: the magic
// (ErrNoHeader), the major version (ErrVersion; checked before the checksum
// because another major version may place the checksum elsewhere), the
// SHA-256 checksum and every field (ErrCorrupt, with a *FieldError for
// field problems). b must be at least CopySize bytes; only the first
// CopySize are used.
func Unmarshal(b []byte) (*Header, error) {
	if len(b) < CopySize {
		if len(b) >= len(Magic) && bytes.Equal(b[:len(Magic)], Magic[:]) {
			return nil, fmt.Errorf("%w: copy truncated to %d of %d bytes", ErrCorrupt, len(b), CopySize)
		}
		return nil, ErrNoHeader
	}
	b = b[:CopySize]
	if !bytes.Equal(b[offMagic:offMagic+len(Magic)], Magic[:]) {
		return nil, ErrNoHeader
	}
	if major := le.Uint16(b[offMajor:]); major != CurrentVersion {
		return nil, fmt.Errorf("%w: major version %d, this program reads %d", ErrVersion, major, CurrentVersion)
	}
	sum := sha256.Sum256(b[:offChecksum])
	if !bytes.Equal(sum[:], b[offChecksum:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if hs := le.Uint16(b[offHeaderSize:]); hs != CopySize {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, fieldErr("header size", "%d is not %d", hs, CopySize))
	}
	h := &Header{Version: le.Uint16(b[offMajor:]), Flags: le.Uint32(b[offFlags:])}
	if fl := h.Flags &^ knownFlags; fl != 0 {
		// FORMAT.md: unknown flag bits are 0. A set one may change what
		// the other fields mean, so a reader that does not know it refuses
		// rather than guesses.
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, fieldErr("flags", "%#x has bits this version does not know", fl))
	}
	copy(h.UUID[:], b[offUUID:])
	var fe *FieldError
	if h.Label, fe = cString("Label", b[offLabel:offLabel+lenLabel]); fe != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, fe)
	}
	if h.Backend, fe = cString("Backend", b[offBackend:offBackend+lenBackend]); fe != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, fe)
	}
	if h.Cipher, fe = cString("Cipher", b[offCipher:offCipher+lenCipher]); fe != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, fe)
	}
	if h.KeyEnc, fe = cString("KeyEnc", b[offKeyEnc:offKeyEnc+lenKeyEnc]); fe != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, fe)
	}
	h.RedKeyLen = le.Uint32(b[offRedKeyLen:])
	h.KeyLen = le.Uint32(b[offKeyLen:])
	h.SectorSize = le.Uint32(b[offSectorSize:])
	blobLen := le.Uint32(b[offBlobLen:])
	h.PayloadOffset = le.Uint64(b[offPayloadOffset:])
	h.PayloadSize = le.Uint64(b[offPayloadSize:])
	nsec := le.Uint32(b[offCreatedNsec:])
	if nsec >= 1e9 {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, fieldErr("Created", "nanoseconds %d out of range", nsec))
	}
	h.Created = time.Unix(int64(le.Uint64(b[offCreatedSec:])), int64(nsec)).UTC()
	if blobLen > MaxBlobLen {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, fieldErr("Blob", "length %d exceeds %d", blobLen, MaxBlobLen))
	}
	h.Blob = append([]byte(nil), b[offBlob:offBlob+int(blobLen)]...)
	// FORMAT.md: the blob field is zero-padded. Refusing other padding
	// gives every header exactly one encoding, like the string fields.
	for _, c := range b[offBlob+int(blobLen) : offBlob+MaxBlobLen] {
		if c != 0 {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, fieldErr("Blob", "non-zero padding after the %d-byte blob", blobLen))
		}
	}
	if fe := validate(h); fe != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, fe)
	}
	return h, nil
}

// cString decodes a NUL-padded fixed-size field. The last byte must be NUL
// (so C readers can use the field as a string) and nothing but NULs may
// follow the first NUL, so every header has exactly one encoding.
func cString(field string, f []byte) (string, *FieldError) {
	n := bytes.IndexByte(f, 0)
	if n < 0 {
		return "", fieldErr(field, "not NUL-terminated")
	}
	for _, c := range f[n:] {
		if c != 0 {
			return "", fieldErr(field, "non-zero bytes after the terminating NUL")
		}
	}
	return string(f[:n]), nil
}
