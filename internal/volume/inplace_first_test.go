package volume

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/inplace"
)

// An encrypt stopped between its record and hiding the file system (the
// raw first block still has the ext magic, nothing moved) takes the first
// block again from the device, which a mount in between may have changed,
// and hides it; once a chunk has moved, nothing is retaken.
func TestRetakeFirstBlock(t *testing.T) {
	const size = 2 << 20
	path := filepath.Join(t.TempDir(), "dev")
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := func(mark byte) []byte {
		b := make([]byte, inplace.BlockSize)
		b[1024+56], b[1024+57] = 0x53, 0xef // ext magic
		b[1024+24] = 2                      // 4 KiB blocks
		b[1024+4] = 100
		b[3000] = mark
		return b
	}
	old := block(1)
	rec := &inplace.Record{Direction: inplace.Encrypt, Chunk: 4096, Progress: 400 << 10, Total: 400 << 10,
		DevSize: size, Shift: 4096, First: old}
	log := inplace.NewLog(f, inplace.TailBase(size))
	if err := log.Start(rec); err != nil {
		t.Fatal(err)
	}
	changed := block(2) // mounted and written after the record
	if _, err := f.WriteAt(changed, 0); err != nil {
		t.Fatal(err)
	}
	if err := retakeFirstBlock(f, path, rec); err != nil {
		t.Fatal(err)
	}
	got, err := inplace.NewLog(f, inplace.TailBase(size)).Read()
	if err != nil || !bytes.Equal(got.First, changed) {
		t.Fatalf("record's first block not retaken: %v", err)
	}
	raw := make([]byte, inplace.BlockSize)
	f.ReadAt(raw, 0)
	if !bytes.Equal(raw, inplace.ZeroExtMagic(changed)) {
		t.Fatal("first block not hidden")
	}
	// Moved already: the record's block stands.
	rec.Progress -= 4096
	f.WriteAt(block(3), 0)
	if err := retakeFirstBlock(f, path, rec); err != nil || !bytes.Equal(rec.First, changed) {
		t.Fatalf("retaken after a chunk moved: %v", err)
	}
}
