package volume

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/keystore"
)

// managerWithKeyFiles is w's manager with the real key-file store in a
// temporary key directory instead of the fake one: format --save-key and
// its rollback then write and remove real files.
func (w *world) managerWithKeyFiles() (*Manager, *keystore.Store) {
	m := w.manager()
	m.d.store = newFileKeyStore(m.cfg.KeyDir)
	return m, keystore.New(m.cfg.KeyDir)
}

// format --save-key writes the new key's black key and blob files, and the
// blob is the one in the header.
func TestFormatSaveKeyWritesRealFiles(t *testing.T) {
	w := newWorld(t)
	m, ks := w.managerWithKeyFiles()
	dev := w.disk("vdb", diskSize)
	if _, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "data", Type: TypeCAAMCrypt, SaveKey: true}); err != nil {
		t.Fatal(err)
	}
	blob, err := ks.LoadBlob("data")
	if err != nil {
		t.Fatalf("blob file: %v", err)
	}
	if _, err := ks.LoadKey("data"); err != nil {
		t.Fatalf("black key file: %v", err)
	}
	if h, _ := readHdr(t, dev); !bytes.Equal(h.Blob, blob) {
		t.Error("the saved blob differs from the header's")
	}
	for p, want := range map[string]os.FileMode{ks.KeyPath("data"): keystore.KeyMode, ks.BlobPath("data"): keystore.BlobMode} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v mode %v, want %v", p, err, st.Mode().Perm(), want)
		}
	}
}

// A format that fails after saving its key removes the files it wrote, and
// only those.
func TestFormatSaveKeyRollbackRemovesRealFiles(t *testing.T) {
	w := newWorld(t)
	m, ks := w.managerWithKeyFiles()
	if _, err := ks.Save("other", []byte("k"), []byte("b"), false); err != nil {
		t.Fatal(err)
	}
	dev := w.disk("vdb", diskSize)
	w.inject("fs.Mkfs", errInjected)
	_, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "data", Type: TypeCAAMCrypt, SaveKey: true})
	if !errors.Is(err, errInjected) {
		t.Fatalf("Format = %v, want the injected failure", err)
	}
	for _, p := range []string{ks.KeyPath("data"), ks.BlobPath("data")} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left after the rollback: %v", p, err)
		}
	}
	if _, err := ks.LoadBlob("other"); err != nil {
		t.Errorf("the rollback touched another key: %v", err)
	}
	w.requireNothingLeft(t)
}

// format --save-key over key files that exist (another key, or the files a
// killed run saved) is refused before the device is written, says how to
// use that key instead, and format --key NAME then takes it.
func TestFormatSaveKeyOverExistingFiles(t *testing.T) {
	w := newWorld(t)
	m, ks := w.managerWithKeyFiles()
	if _, err := m.Format(context.Background(), FormatOptions{Device: w.disk("vdc", diskSize), Name: "data", Type: TypeCAAMCrypt, SaveKey: true}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(context.Background(), CloseOptions{Name: "data"}); err != nil {
		t.Fatal(err)
	}
	blob, err := ks.LoadBlob("data")
	if err != nil {
		t.Fatal(err)
	}
	dev := w.disk("vdb", diskSize)
	before := sum(t, dev)
	_, err = m.Format(context.Background(), FormatOptions{Device: dev, Name: "data", Type: TypeCAAMCrypt, SaveKey: true})
	if !errors.Is(err, keystore.ErrExists) || !strings.Contains(err.Error(), "give --key data") || strings.Contains(err.Error(), "--force") {
		t.Fatalf("Format over existing key files = %v, want refused as existing, naming --key data and not --force", err)
	}
	if sum(t, dev) != before {
		t.Fatal("the refused format wrote to the device")
	}
	if now, _ := ks.LoadBlob("data"); !bytes.Equal(now, blob) {
		t.Fatal("the refused format changed the blob file")
	}
	if _, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "data", Type: TypeCAAMCrypt, Key: "data"}); err != nil {
		t.Fatalf("format --key data: %v", err)
	}
	if h, _ := readHdr(t, dev); !bytes.Equal(h.Blob, blob) {
		t.Error("format --key data did not put the volume on the saved key")
	}
}
