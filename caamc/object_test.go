package caamc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSeedSizes(t *testing.T) {
	// The seed: a 16-byte ECB key makes a 36 B key file and a 96 B blob file;
	// docs/caam-abi.md §3 adds 52/112 for 32-byte ECB.
	cases := []struct {
		enc               Encryption
		l, keyFile, bbLen int
	}{
		{ECB, 16, 36, 96},
		{ECB, 32, 52, 112},
	}
	for _, c := range cases {
		if got := TagSize + BlackKeySize(c.enc, c.l); got != c.keyFile {
			t.Errorf("%s %d: key file %d, want %d", c.enc, c.l, got, c.keyFile)
		}
		if got := TagSize + BlobSize(c.l); got != c.bbLen {
			t.Errorf("%s %d: blob file %d, want %d", c.enc, c.l, got, c.bbLen)
		}
	}
}

func TestCapacitiesCoverEverySize(t *testing.T) {
	for l := MinKeySize; l <= MaxKeySize; l++ {
		for _, enc := range []Encryption{ECB, CCM} {
			if c, need := blackKeyCapacity(enc, l), 20+wantKeySize(enc == CCM, l); c < need || c < 96 {
				t.Errorf("%s %d: black key capacity %d < needed %d or NXP's 96", enc, l, c, need)
			}
		}
		if c, need := blobCapacity(l), 20+wantBlobSize(l); c < need || c < 144 {
			t.Errorf("%d: blob capacity %d < needed %d or NXP's 144", l, c, need)
		}
	}
	// NXP's 96/144 are exactly the largest tagged objects (64-byte CCM key).
	if got := TagSize + BlackKeySize(CCM, MaxKeySize); got != 96 {
		t.Errorf("largest tagged black key %d, want 96", got)
	}
	if got := TagSize + BlobSize(MaxKeySize); got != 144 {
		t.Errorf("largest tagged blob %d, want 144", got)
	}
}

func TestParseObjectEverySize(t *testing.T) {
	for l := MinKeySize; l <= MaxKeySize; l++ {
		for _, ccm := range []bool{false, true} {
			typ := uint32(1)
			enc := ECB
			if ccm {
				typ, enc = 9, CCM
			}
			if BlackKeySize(enc, l) != wantKeySize(ccm, l) || BlobSize(l) != wantBlobSize(l) {
				t.Fatalf("%s %d: formulas disagree: key %d/%d blob %d/%d", enc, l,
					BlackKeySize(enc, l), wantKeySize(ccm, l), BlobSize(l), wantBlobSize(l))
			}
			// The driver tags the blob with its key's type (1 or 9); a blob
			// bit set must parse too.
			for _, c := range []struct {
				name string
				typ  uint32
				n    int
				kind Kind
			}{
				{"key", typ, wantKeySize(ccm, l), KindBlackKey},
				{"blob", typ, wantBlobSize(l), KindBlob},
				{"blob-bit", typ | 2, wantBlobSize(l), KindBlob},
			} {
				file := validObject(c.typ, l, c.n)
				o, err := ParseObject(file)
				if err != nil {
					t.Fatalf("%s %d %s: %v", enc, l, c.name, err)
				}
				if o.Kind() != c.kind || o.Encryption() != enc || int(o.Tag.RedKeyLen) != l || len(o.Data) != c.n {
					t.Errorf("%s %d %s: kind %v enc %v red %d data %d", enc, l, c.name, o.Kind(), o.Encryption(), o.Tag.RedKeyLen, len(o.Data))
				}
				if !bytes.Equal(o.Bytes(), file) {
					t.Errorf("%s %d %s: re-encoding differs", enc, l, c.name)
				}
				d := o.Describe()
				if d.FileLen != len(file) || d.ObjectLen != c.n || d.RedKeyLen != l || d.Kind != c.kind.String() ||
					d.Encryption != enc.String() || d.Color != "black" || d.KEK != "JDKEK" || d.Memory != "general" {
					t.Errorf("%s %d %s: describe %+v", enc, l, c.name, d)
				}
				if wantDM := 0; (c.kind == KindBlackKey && d.DMKeyLen != len(file)) || (c.kind == KindBlob && d.DMKeyLen != wantDM) {
					t.Errorf("%s %d %s: dm key len %d", enc, l, c.name, d.DMKeyLen)
				}
			}
		}
	}
}

func TestParseObjectDataIsCopy(t *testing.T) {
	file := validObject(1, 16, 16)
	o, err := ParseObject(file)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte(nil), o.Data...)
	for i := range file {
		file[i] = 0
	}
	if !bytes.Equal(o.Data, want) {
		t.Error("Object.Data aliases the input")
	}
}

func TestParseObjectRejects(t *testing.T) {
	const m = 0x5461674f
	key16 := validObject(1, 16, 16)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated: 0 bytes, shorter than the 20-byte tag header"},
		{"short header", key16[:19], "truncated: 19 bytes, shorter than the 20-byte tag header"},
		{"truncated body", key16[:30], "tagged object truncated: 30 bytes, header says 36"},
		{"header only", key16[:20], "tagged object truncated: 20 bytes, header says 36"},
		{"trailing", append(append([]byte(nil), key16...), 0, 0), "2 bytes after its end: 38 bytes, header says 36"},
		{"bad magic", rawObject(0x4f676154, 0, 1, 16, 16, 16, 1), "bad tag magic 0x4f676154"},
		{"zero magic", make([]byte, 36), "bad tag magic 0x00000000"},
		{"bad version", rawObject(m, 1, 1, 16, 16, 16, 1), "unsupported tag version 1"},
		{"red len 15", rawObject(m, 0, 1, 15, 16, 16, 1), "red key length 15 in tag, want 16..64"},
		{"red len 65", rawObject(m, 0, 1, 65, 80, 80, 1), "red key length 65 in tag, want 16..64"},
		{"red len 0", rawObject(m, 0, 1, 0, 16, 16, 1), "red key length 0"},
		{"red object", rawObject(m, 0, 0, 16, 16, 16, 1), "tagged red"},
		{"obj_len says more", rawObject(m, 0, 1, 16, 32, 16, 1), "truncated: 36 bytes, header says 52"},
		{"obj_len huge", rawObject(m, 0, 1, 16, 0xffffffff, 16, 1), "truncated: 36 bytes, header says 4294967315"},
		{"ecb key wrong size", rawObject(m, 0, 1, 17, 17, 17, 1), "object of 17 bytes fits neither a 17-byte ecb black key (32) nor its blob (84)"},
		{"ccm sized as ecb", rawObject(m, 0, 9, 16, 16, 16, 1), "fits neither a 16-byte ccm black key (28) nor its blob (76)"},
		{"ecb sized as ccm", rawObject(m, 0, 1, 16, 28, 28, 1), "fits neither a 16-byte ecb black key (16) nor its blob (76)"},
		{"blob bit on key", rawObject(m, 0, 3, 16, 16, 16, 1), "blob of a 16-byte key is 16 bytes, want 76"},
		{"blob of other len", rawObject(m, 0, 1, 16, 84, 84, 1), "fits neither"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, err := ParseObject(c.in)
			if err == nil {
				t.Fatalf("accepted %+v", o.Tag)
			}
			if !errors.Is(err, ErrBadTag) {
				t.Errorf("error does not wrap ErrBadTag: %v", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}
