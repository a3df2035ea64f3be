package header

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestMarshalRoundTrip(t *testing.T) {
	for _, enc := range []string{"ecb", "ccm"} {
		for _, red := range []uint32{16, 24, 32, 64} {
			h := validHeader()
			h.KeyEnc, h.RedKeyLen, h.KeyLen = enc, red, KeyLenFor(enc, red)
			h.Blob = testBlob(int(red))
			h.Label = "label-" + enc
			h.PayloadSize = 64 << 20
			b, err := h.Marshal()
			if err != nil {
				t.Fatalf("%s/%d: Marshal: %v", enc, red, err)
			}
			if len(b) != CopySize {
				t.Fatalf("Marshal length %d, want %d", len(b), CopySize)
			}
			got, err := Unmarshal(b)
			if err != nil {
				t.Fatalf("%s/%d: Unmarshal: %v", enc, red, err)
			}
			if got.UUID != h.UUID || got.Label != h.Label || got.Backend != h.Backend ||
				got.Cipher != h.Cipher || got.KeyEnc != h.KeyEnc || got.RedKeyLen != h.RedKeyLen ||
				got.KeyLen != h.KeyLen || got.SectorSize != h.SectorSize ||
				got.PayloadOffset != h.PayloadOffset || got.PayloadSize != h.PayloadSize ||
				got.Version != CurrentVersion || !got.Created.Equal(h.Created) || !bytes.Equal(got.Blob, h.Blob) {
				t.Errorf("%s/%d: round trip differs:\n got %+v\nwant %+v", enc, red, got, h)
			}
		}
	}
}

func TestMarshalZeroVersionMeansCurrent(t *testing.T) {
	h := validHeader()
	h.Version = 0
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if v := le.Uint16(b[offMajor:]); v != CurrentVersion {
		t.Errorf("version written %d, want %d", v, CurrentVersion)
	}
	if h.Version != 0 {
		t.Errorf("Marshal modified its receiver")
	}
}

func TestMarshalLayout(t *testing.T) {
	// Spot checks of FORMAT.md offsets, as a C or shell reader would see them.
	h := validHeader()
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(b[0:10]) != "CAAMCRYPT\x00" {
		t.Errorf("magic %q", b[0:10])
	}
	if !bytes.Equal(b[20:36], h.UUID[:]) {
		t.Errorf("uuid at 20 wrong")
	}
	if string(b[36:40]) != "data" || b[40] != 0 {
		t.Errorf("label at 36 wrong: %q", b[36:44])
	}
	if le.Uint32(b[180:]) != 4096 || le.Uint32(b[184:]) != uint32(len(h.Blob)) {
		t.Errorf("sector size / blob len wrong")
	}
	if le.Uint64(b[188:]) != DefaultPayloadOffset {
		t.Errorf("payload offset wrong")
	}
	if int64(le.Uint64(b[204:])) != h.Created.Unix() || le.Uint32(b[212:]) != 123456789 {
		t.Errorf("created wrong")
	}
	if !bytes.Equal(b[256:256+len(h.Blob)], h.Blob) {
		t.Errorf("blob at 256 wrong")
	}
	for i := 256 + len(h.Blob); i < offChecksum; i++ {
		if b[i] != 0 {
			t.Fatalf("byte %d not zero", i)
		}
	}
}

// Every single-bit flip anywhere in a copy must be caught: in the magic as
// "no header", in the major version as "version", elsewhere as "corrupt".
func TestUnmarshalDetectsEveryBitFlip(t *testing.T) {
	good, err := validHeader().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < CopySize; i++ {
		bit := byte(1) << (i % 8)
		b := append([]byte(nil), good...)
		b[i] ^= bit
		_, err := Unmarshal(b)
		var want error
		switch {
		case i < offMajor:
			want = ErrNoHeader
		case i < offMinor:
			want = ErrVersion
		default:
			want = ErrCorrupt
		}
		if !errors.Is(err, want) {
			t.Fatalf("flip bit %d of byte %d: err %v, want %v", i%8, i, err, want)
		}
	}
}

func TestUnmarshalShortAndEmpty(t *testing.T) {
	if _, err := Unmarshal(nil); !errors.Is(err, ErrNoHeader) {
		t.Errorf("nil: %v", err)
	}
	if _, err := Unmarshal(make([]byte, CopySize)); !errors.Is(err, ErrNoHeader) {
		t.Errorf("zeros: %v", err)
	}
	good, _ := validHeader().Marshal()
	if _, err := Unmarshal(good[:100]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated copy with magic: %v", err)
	}
}

func TestUnmarshalAcceptsNewerMinor(t *testing.T) {
	b, _ := validHeader().Marshal()
	le.PutUint16(b[offMinor:], 7)
	b[offReserved2+10] = 0x55 // a field a later minor version might add
	reseal(b)
	if _, err := Unmarshal(b); err != nil {
		t.Fatalf("minor 7 with reserved byte set: %v", err)
	}
}

func TestUnknownMajorVersion(t *testing.T) {
	b, _ := validHeader().Marshal()
	le.PutUint16(b[offMajor:], 2)
	reseal(b)
	if _, err := Unmarshal(b); !errors.Is(err, ErrVersion) {
		t.Fatalf("major 2: %v, want ErrVersion", err)
	}
	h := validHeader()
	h.Version = 2
	if _, err := h.Marshal(); !errors.Is(err, ErrVersion) {
		t.Fatalf("Marshal version 2: %v, want ErrVersion", err)
	}
}

func TestKeyLenFor(t *testing.T) {
	// docs/caam-abi.md §3: 16-byte ECB key file 36 B, 32-byte ECB 52 B.
	cases := []struct {
		enc  string
		red  uint32
		want uint32
	}{{"ecb", 16, 36}, {"ecb", 32, 52}, {"ecb", 24, 52}, {"ccm", 16, 48}, {"ccm", 20, 56}, {"xts", 16, 0}}
	for _, c := range cases {
		if got := KeyLenFor(c.enc, c.red); got != c.want {
			t.Errorf("KeyLenFor(%s,%d) = %d, want %d", c.enc, c.red, got, c.want)
		}
	}
}

func TestCreatedZeroTimeRoundTrips(t *testing.T) {
	h := validHeader()
	h.Created = time.Time{}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Created.Equal(h.Created) {
		t.Errorf("created %v, want %v", got.Created, h.Created)
	}
}
