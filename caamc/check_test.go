package caamc

import (
	"bytes"
	"errors"
	"testing"
)

// checkOutput validates the black key the driver returned; it must do so
// without copying it, or an unwiped copy of the key stays on the heap after
// the caller wipes its own. Zero allocations on success proves no copy.
func TestCheckOutputCopiesNothing(t *testing.T) {
	tag := Tag{Magic: TagMagic, Type: TypeBlack, RedKeyLen: 16, ObjLen: uint32(BlackKeySize(ECB, 16))}
	key := append(tag.Bytes(), bytes.Repeat([]byte{0x5a}, BlackKeySize(ECB, 16))...)
	var err error
	allocs := testing.AllocsPerRun(20, func() {
		err = checkOutput("create", "/dev/caam-keygen", key, KindBlackKey, ECB, 16)
	})
	if err != nil {
		t.Fatalf("checkOutput of a good 16-byte ECB key: %v", err)
	}
	if allocs != 0 {
		t.Fatalf("checkOutput allocated %.0f times on success: it copies the black key", allocs)
	}
	// It still refuses what the caller did not ask for.
	if err := checkOutput("create", "/dev/caam-keygen", key, KindBlackKey, CCM, 16); !errors.Is(err, ErrBadTag) {
		t.Fatalf("ECB key checked as CCM: %v, want ErrBadTag", err)
	}
	if err := checkOutput("create", "/dev/caam-keygen", key[:30], KindBlackKey, ECB, 16); !errors.Is(err, ErrBadTag) {
		t.Fatalf("truncated key: %v, want ErrBadTag", err)
	}
}
