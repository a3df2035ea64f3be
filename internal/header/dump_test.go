package header

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func TestDumpHasNoBlobBytes(t *testing.T) {
	h := validHeader()
	info := Dump(h)
	js, err := json.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	text := info.String()
	blobHex := hex.EncodeToString(h.Blob[20:36])
	for _, out := range []string{string(js), text} {
		if strings.Contains(strings.ToLower(out), blobHex) || bytes.Contains([]byte(out), h.Blob[20:36]) {
			t.Errorf("blob bytes leaked into %q", out)
		}
		if !strings.Contains(out, h.UUID.String()) || !strings.Contains(out, "capi:tk(cbc(aes))-plain") {
			t.Errorf("dump lacks uuid or cipher: %s", out)
		}
	}
	sum := sha256.Sum256(h.Blob)
	if info.BlobFingerprint != hex.EncodeToString(sum[:8]) || info.BlobLen != len(h.Blob) {
		t.Errorf("fingerprint %q len %d", info.BlobFingerprint, info.BlobLen)
	}
	if info.Created != "2026-11-27T12:30:01Z" {
		t.Errorf("created %q", info.Created)
	}
}

func TestCheckPattern(t *testing.T) {
	a := uuid.MustParse("00000000-0000-4000-8000-000000000001")
	b := uuid.MustParse("00000000-0000-4000-8000-000000000002")
	pa, pb := CheckPattern(a), CheckPattern(b)
	if len(pa) != CheckSize {
		t.Fatalf("length %d", len(pa))
	}
	if !bytes.Equal(pa, CheckPattern(a)) {
		t.Error("not deterministic")
	}
	if bytes.Equal(pa, pb) {
		t.Error("two UUIDs give the same pattern")
	}
	// Recompute blocks 0 and 127 by the documented construction.
	for _, i := range []byte{0, 127} {
		want := sha256.Sum256(append(append([]byte("caamcrypt key check v1"), a[:]...), i, 0, 0, 0))
		if !bytes.Equal(pa[int(i)*32:int(i)*32+32], want[:]) {
			t.Errorf("block %d differs from the documented construction", i)
		}
	}
	if bytes.Equal(pa[:32], pa[32:64]) {
		t.Error("blocks repeat")
	}
}

// checkCanonical unmarshals b (which must not panic) and, when it decodes,
// requires that it re-encodes to the same bytes outside the minor version
// and reserved areas: every accepted header has one encoding.
func checkCanonical(t *testing.T, b []byte) {
	h, err := Unmarshal(b)
	if err != nil {
		return
	}
	out, err := h.Marshal()
	if err != nil {
		t.Fatalf("decoded header does not marshal: %v", err)
	}
	if !bytes.Equal(out[offHeaderSize:offReserved1], b[offHeaderSize:offReserved1]) ||
		!bytes.Equal(out[offBlob:offReserved2], b[offBlob:offReserved2]) {
		t.Fatalf("re-encoding differs")
	}
}
