package header

import (
	"errors"
	"testing"
)

// FlagFormatting survives a round trip at byte 16, a finished header has
// flags 0 (what minor-0 readers and writers expect), unknown bits are
// refused by Marshal and kept by Unmarshal (a later minor may add some).
func TestFlagsRoundTrip(t *testing.T) {
	h := validHeader()
	h.Flags = FlagFormatting
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got := le.Uint32(b[16:]); got != FlagFormatting {
		t.Fatalf("flags at byte 16 = %#x", got)
	}
	if got := le.Uint16(b[12:]); got != 2 {
		t.Fatalf("minor version %d, want 2", got)
	}
	back, err := Unmarshal(b)
	if err != nil || !back.Unfinished() {
		t.Fatalf("Unmarshal = %+v, %v; want unfinished", back, err)
	}
	h.Flags = 0
	b, _ = h.Marshal()
	if back, _ := Unmarshal(b); back.Unfinished() || le.Uint32(b[16:]) != 0 {
		t.Fatal("a finished header is marked unfinished")
	}
	h.Flags = FlagTransition
	b, _ = h.Marshal()
	if back, err := Unmarshal(b); err != nil || !back.InTransition() || back.Unfinished() || le.Uint32(b[16:]) != 2 {
		t.Fatalf("FlagTransition round trip = %+v, %v", back, err)
	}
	h.Flags = 1 << 5
	if _, err := h.Marshal(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Marshal with an unknown flag = %v, want ErrInvalid", err)
	}
	// A header with an unknown bit (written by hand, checksum fixed) is
	// refused: the bit might change what the other fields mean.
	h.Flags = 0
	b, _ = h.Marshal()
	le.PutUint32(b[16:], 1<<5)
	reseal(b)
	if back, err := Unmarshal(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Unmarshal with an unknown flag = %+v, %v; want ErrCorrupt", back, err)
	}
}
