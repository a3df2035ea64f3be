package header

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"time"

	"github.com/google/uuid"
)

// memDev is an in-memory device for Read/Write tests.
type memDev struct{ b []byte }

func newDev(size int) *memDev { return &memDev{b: make([]byte, size)} }

func (d *memDev) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(d.b)) {
		return 0, io.EOF
	}
	n := copy(p, d.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (d *memDev) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > int64(len(d.b)) {
		return 0, io.ErrShortWrite
	}
	return copy(d.b[off:], p), nil
}

// testBlob builds a tagged blob the way caam-keygen would for a red key of
// redLen bytes: tag (magic, version 0, type 3 = black blob, red len, obj
// len) followed by roundup(redLen,8)+12+48 object bytes.
func testBlob(redLen int) []byte {
	obj := (redLen+7)/8*8 + 12 + 48
	b := make([]byte, 20+obj)
	binary.LittleEndian.PutUint32(b[0:], TagMagic)
	binary.LittleEndian.PutUint32(b[8:], 3)
	binary.LittleEndian.PutUint32(b[12:], uint32(redLen))
	binary.LittleEndian.PutUint32(b[16:], uint32(obj))
	for i := 20; i < len(b); i++ {
		b[i] = byte(i*7 + 1)
	}
	return b
}

func validHeader() *Header {
	return &Header{
		Version:       CurrentVersion,
		UUID:          uuid.MustParse("6f1c2a4e-8d1b-4c3e-9a57-0b2d4e6f8a10"),
		Label:         "data",
		Backend:       BackendCAAMBlob,
		Cipher:        "capi:tk(cbc(aes))-plain",
		KeyEnc:        "ecb",
		RedKeyLen:     16,
		KeyLen:        36,
		SectorSize:    4096,
		PayloadOffset: DefaultPayloadOffset,
		PayloadSize:   0,
		Created:       time.Date(2026, 11, 27, 12, 30, 1, 123456789, time.UTC),
		Blob:          testBlob(16),
	}
}

// reseal recomputes the checksum of a copy after a test edited a field, so
// the test reaches field validation instead of the checksum check.
func reseal(b []byte) {
	sum := sha256.Sum256(b[:offChecksum])
	copy(b[offChecksum:], sum[:])
}
