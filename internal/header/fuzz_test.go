package header

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

// fuzzSeedCopies are header copies made by the real encoder (Marshal),
// for the seed corpora of the header fuzz targets.
func fuzzSeedCopies(f *testing.F) [][]byte {
	var out [][]byte
	for _, edit := range []func(h *Header){
		func(h *Header) {},
		func(h *Header) { h.Label = ""; h.SectorSize = 512 },
		func(h *Header) {
			h.KeyEnc = "ccm"
			h.RedKeyLen = 32
			h.KeyLen = KeyLenFor("ccm", 32)
			h.Blob = testBlob(32)
		},
		func(h *Header) {
			h.RedKeyLen = 64
			h.KeyLen = KeyLenFor("ecb", 64)
			h.Blob = testBlob(64)
			h.PayloadSize = 1 << 30
		},
	} {
		h := validHeader()
		edit(h)
		b, err := h.Marshal()
		if err != nil {
			f.Fatalf("seed header: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// isReservedByte reports whether byte i of a copy may differ between an
// accepted input and its canonical re-encoding: the minor version
// (FORMAT.md: readers accept any minor; later minors only use reserved
// bytes), the reserved areas and the checksum that covers them.
func isReservedByte(i int) bool {
	switch {
	case i >= offMinor && i < offMinor+2:
		return true
	case i >= offReserved1 && i < offBlob:
		return true
	case i >= offReserved2:
		return true
	}
	return false
}

// FuzzUnmarshal decodes arbitrary header copies. With fix set, the magic,
// major version and checksum are made valid first (see below). Properties: an error comes without a header and
// wraps one of the package's sentinels; an accepted copy re-encodes to the
// same bytes except in bytes readers must ignore, and the re-encoding
// decodes to the same header.
func FuzzUnmarshal(f *testing.F) {
	for _, b := range fuzzSeedCopies(f) {
		testutil.Seed(f, b, false)
		testutil.Seed(f, b, true)
		bad := bytes.Clone(b)
		bad[offMajor] = 2
		testutil.Seed(f, bad, true)
		// Regressions: a set flag and non-zero blob padding were once
		// accepted, giving one header several encodings.
		flags := bytes.Clone(b)
		flags[offFlags] = 1
		reseal(flags)
		testutil.Seed(f, flags, false)
		pad := bytes.Clone(b)
		pad[offReserved2-1] = 0x80
		reseal(pad)
		testutil.Seed(f, pad, false)
	}
	testutil.Seed(f, Magic[:], false)
	testutil.Seed(f, []byte{}, false)
	testutil.Seed(f, make([]byte, CopySize), true)
	f.Fuzz(func(t *testing.T, b []byte, fix bool) {
		if fix {
			// Random bytes almost never pass the checksum: give them the
			// magic, this major version and a valid checksum, so the field
			// decoder is exercised.
			c := make([]byte, CopySize)
			copy(c, b)
			copy(c, Magic[:])
			le.PutUint16(c[offMajor:], CurrentVersion)
			reseal(c)
			b = c
		}
		checkCanonical(t, b)
		h, err := Unmarshal(b)
		if err != nil {
			if h != nil {
				t.Fatalf("Unmarshal returned a header and an error: %v", err)
			}
			if !errors.Is(err, ErrNoHeader) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if h == nil {
			t.Fatal("Unmarshal returned neither a header nor an error")
		}
		m, err := h.Marshal()
		if err != nil {
			t.Fatalf("accepted header does not re-encode: %v", err)
		}
		for i := range m {
			if m[i] != b[i] && !isReservedByte(i) {
				t.Fatalf("re-encoding differs at byte %d (%#x, input %#x)", i, m[i], b[i])
			}
		}
		h2, err := Unmarshal(m)
		if err != nil || !reflect.DeepEqual(h, h2) {
			t.Fatalf("re-encoded header decodes to %+v, %v; want %+v", h2, err, h)
		}
		_ = Dump(h)
	})
}

// FuzzRestore feeds arbitrary header backup files to Restore. Properties:
// a refused file leaves the device byte-identical; an accepted one leaves
// both copy positions holding the file's copy A, and Read then returns the
// header Restore reported.
func FuzzRestore(f *testing.F) {
	for _, c := range fuzzSeedCopies(f) {
		testutil.Seed(f, c)
		testutil.Seed(f, append(bytes.Clone(c), c...))
		testutil.Seed(f, c[:CopySize-1])
		testutil.Seed(f, append(bytes.Clone(c), 0))
	}
	testutil.Seed(f, []byte{})
	devSize := int(CopyOffsets[1]) + CopySize
	before := make([]byte, devSize)
	for i := range before {
		before[i] = byte(i * 31)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		dev := &memDev{b: bytes.Clone(before)}
		h, err := Restore(bytes.NewReader(file), dev)
		if err != nil {
			if h != nil {
				t.Fatalf("Restore returned a header and an error: %v", err)
			}
			if !bytes.Equal(before, dev.b) {
				t.Fatalf("refused restore (%v) changed the device", err)
			}
			return
		}
		if len(file) != CopySize && len(file) != BackupSize {
			t.Fatalf("accepted a %d-byte backup file", len(file))
		}
		for _, off := range CopyOffsets {
			if !bytes.Equal(dev.b[off:off+CopySize], file[:CopySize]) {
				t.Fatalf("copy at %d is not the file's copy A", off)
			}
		}
		got, _, err := Read(dev)
		if err != nil || !reflect.DeepEqual(got, h) {
			t.Fatalf("Read after Restore: %+v, %v; Restore said %+v", got, err, h)
		}
	})
}
