package keystore

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// A key reference is a name in the key directory or an absolute path to a
// blob file or to the black key file beside one (caam-keygen's layout).
func TestLoadBlobRef(t *testing.T) {
	s := newStore(t)
	key, blob := []byte("black key bytes"), []byte("blob bytes")
	if _, err := s.Save("db", key, blob, false); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "logkey.bb"), []byte("other blob"), 0o400); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string][]byte{
		"db":                              blob,
		s.BlobPath("db"):                  blob,
		s.KeyPath("db"):                   blob, // the black key file: its blob beside it
		filepath.Join(other, "logkey"):    []byte("other blob"),
		filepath.Join(other, "logkey.bb"): []byte("other blob"),
	} {
		got, err := s.LoadBlobRef(ref)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("LoadBlobRef(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
	if _, err := s.LoadBlobRef(filepath.Join(other, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing absolute blob: %v, want fs.ErrNotExist", err)
	}
	if _, err := s.LoadBlobRef("../db"); err == nil {
		t.Error("a relative path with a separator was taken as a key name")
	}
	link := filepath.Join(other, "link.bb")
	if err := os.Symlink(s.BlobPath("db"), link); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadBlobRef(link); err == nil {
		t.Error("LoadBlobRef followed a symlink")
	}
}

// Remove deletes both files of a key and nothing else, and a file already
// gone is no error (a rollback may run after a partial save).
func TestRemove(t *testing.T) {
	s := newStore(t)
	for _, n := range []string{"a", "b"} {
		if _, err := s.Save(n, []byte("k"), []byte("b"), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove("a"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.KeyPath("a"), s.BlobPath("a")} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there after Remove: %v", p, err)
		}
	}
	for _, p := range []string{s.KeyPath("b"), s.BlobPath("b")} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("Remove(a) touched %s: %v", p, err)
		}
	}
	if err := os.Remove(s.KeyPath("b")); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("b"); err != nil {
		t.Errorf("Remove after a partial save: %v", err)
	}
	if err := s.Remove("../b"); err == nil {
		t.Error("Remove accepted a path as a name")
	}
}
