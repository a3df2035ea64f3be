package keystore

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

func TestValidName(t *testing.T) {
	good := []string{"randomkey", "db-key_1", "logkey:", "K"}
	for _, n := range good {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", n, err)
		}
	}
	bad := map[string]string{
		"":                       "empty",
		"../etc/x":               "path separator",
		"a/b":                    "path separator",
		".hidden":                "dot",
		"..":                     "dot",
		"key.bb":                 "suffix",
		"with space":             "space",
		"tab\tname":              "space",
		"nl\nname":               "space",
		strings.Repeat("k", 201): "longer",
	}
	for n, want := range bad {
		err := ValidName(n)
		if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidName(%q) = %v, want usage error mentioning %q", n, err, want)
		}
	}
}

func newStore(t *testing.T) *Store {
	s := New(filepath.Join(t.TempDir(), "caam"))
	s.Now = func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }
	return s
}

func TestSaveModesAndLoad(t *testing.T) {
	s := newStore(t)
	if _, err := s.Save("k", []byte("black"), []byte("blob"), false); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{s.Dir: DirMode, s.KeyPath("k"): KeyMode, s.BlobPath("k"): BlobMode} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", path, st.Mode().Perm(), mode)
		}
	}
	if b, err := s.LoadBlob("k"); err != nil || string(b) != "blob" {
		t.Fatalf("LoadBlob = %q, %v", b, err)
	}
	if b, err := s.LoadKey("k"); err != nil || string(b) != "black" {
		t.Fatalf("LoadKey = %q, %v", b, err)
	}
}

func TestSaveNeverOverwrites(t *testing.T) {
	s := newStore(t)
	if _, err := s.Save("k", []byte("black1"), []byte("blob1"), false); err != nil {
		t.Fatal(err)
	}
	_, err := s.Save("k", []byte("black2"), []byte("blob2"), false)
	if !errors.Is(err, ErrExists) || !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("second Save: %v, want refused/exists", err)
	}
	if b, _ := s.LoadBlob("k"); string(b) != "blob1" {
		t.Fatalf("blob changed to %q", b)
	}
	if b, _ := s.LoadKey("k"); string(b) != "black1" {
		t.Fatalf("key changed to %q", b)
	}
}

// A blob left from an earlier key whose key file is gone must still stop a
// new key of the same name: the old blob may be all that opens a volume.
func TestSaveRefusesLoneBlob(t *testing.T) {
	s := newStore(t)
	if _, err := s.Save("k", []byte("black1"), []byte("blob1"), false); err != nil {
		t.Fatal(err)
	}
	os.Remove(s.KeyPath("k"))
	if _, err := s.Save("k", []byte("black2"), []byte("blob2"), false); !errors.Is(err, ErrExists) {
		t.Fatalf("Save over lone blob: %v", err)
	}
	if b, _ := s.LoadBlob("k"); string(b) != "blob1" {
		t.Fatalf("blob changed to %q", b)
	}
}

func TestSaveForceKeepsDatedBackup(t *testing.T) {
	s := newStore(t)
	if _, err := s.Save("k", []byte("black1"), []byte("blob1"), false); err != nil {
		t.Fatal(err)
	}
	backup, err := s.Save("k", []byte("black2"), []byte("blob2"), true)
	if err != nil {
		t.Fatal(err)
	}
	if want := s.BlobPath("k") + ".20261127T120000Z"; backup != want {
		t.Fatalf("backup %q, want %q", backup, want)
	}
	if b, _ := os.ReadFile(backup); string(b) != "blob1" {
		t.Fatalf("backup holds %q", b)
	}
	if b, _ := s.LoadBlob("k"); string(b) != "blob2" {
		t.Fatalf("blob is %q after force", b)
	}
	// A second forced save in the same second must not clobber the backup.
	if _, err := s.Save("k", []byte("black3"), []byte("blob3"), true); !errors.Is(err, os.ErrExist) || !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("second forced save in the same second: %v, want a refused/exists error", err)
	}
	if b, _ := os.ReadFile(backup); string(b) != "blob1" {
		t.Fatalf("backup overwritten with %q", b)
	}
}

func TestSaveRollsBackBlobWhenKeyFails(t *testing.T) {
	s := newStore(t)
	if err := os.MkdirAll(s.Dir, DirMode); err != nil {
		t.Fatal(err)
	}
	// A directory in the key file's place makes the key write fail after
	// the blob was written.
	if err := os.Mkdir(s.KeyPath("k"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save("k", []byte("black"), []byte("blob"), true); err == nil {
		t.Fatal("Save succeeded with a directory in the key's place")
	}
	if _, err := os.Lstat(s.BlobPath("k")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("blob left behind after failed save: %v", err)
	}
}

func TestLoadRefusesSymlink(t *testing.T) {
	s := newStore(t)
	if err := os.MkdirAll(s.Dir, DirMode); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "elsewhere.bb")
	os.WriteFile(other, []byte("x"), 0o600)
	if err := os.Symlink(other, s.BlobPath("k")); err != nil {
		t.Fatal(err)
	}
	_, err := s.LoadBlob("k")
	if !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("LoadBlob through symlink: %v", err)
	}
	if _, err := s.LoadBlob("absent"); !errors.Is(err, fail.ErrNotFound) {
		t.Fatalf("LoadBlob of a missing key: %v, want not found", err)
	}
}

func TestSaveKeyNoOverwrite(t *testing.T) {
	s := newStore(t)
	if err := s.SaveKey("imp", []byte("one"), false); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveKey("imp", []byte("two"), false); !errors.Is(err, ErrExists) {
		t.Fatalf("SaveKey over existing: %v", err)
	}
	if err := s.SaveKey("imp", []byte("two"), true); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.LoadKey("imp"); !bytes.Equal(b, []byte("two")) {
		t.Fatalf("forced SaveKey left %q", b)
	}
}

// A key may not be named like the dated backup of another key's blob: with
// --force its key file would replace that backup, which may be the last
// copy of a blob an old volume needs.
func TestForcedSaveCannotReplaceBlobBackup(t *testing.T) {
	s := newStore(t)
	if _, err := s.Save("k", []byte("black1"), []byte("blob1"), false); err != nil {
		t.Fatal(err)
	}
	backup, err := s.Save("k", []byte("black2"), []byte("blob2"), true)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(backup)
	if err := s.SaveKey(name, []byte("imported"), true); !errors.Is(err, fail.ErrUsage) {
		t.Errorf("SaveKey(%q, force): %v, want a usage error", name, err)
	}
	if _, err := s.Save(name, []byte("black3"), []byte("blob3"), true); !errors.Is(err, fail.ErrUsage) {
		t.Errorf("Save(%q, force): %v, want a usage error", name, err)
	}
	if b, _ := os.ReadFile(backup); string(b) != "blob1" {
		t.Fatalf("backup %s now holds %q, want the old blob", backup, b)
	}
	// Names that merely contain the suffix stay valid.
	for _, n := range []string{"data.bb.v2", "k.bb.2026", "k.bbx"} {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", n, err)
		}
	}
}

// Key and blob files are regular files: a FIFO or device node given as one
// is refused at once instead of blocking (FIFO) or reading junk.
func TestReadFileRefusesNonRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "k.bb")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := ReadFile(fifo)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, fail.ErrUsage) || !strings.Contains(err.Error(), "not a regular file") {
			t.Fatalf("ReadFile(FIFO): %v, want a usage error saying it is not a regular file", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ReadFile blocked on a FIFO")
	}
	if _, err := ReadFile("/dev/null"); !errors.Is(err, fail.ErrUsage) {
		t.Fatalf("ReadFile(/dev/null): %v, want a usage error", err)
	}
}

// Losing the exclusive create to a concurrent writer is a refusal (exit 4)
// like the first existence check's, and still matches ErrExists.
func TestCreateErrRaceIsRefused(t *testing.T) {
	err := createErr("blob", "/d/k.bb", fmt.Errorf("/d/k.bb: %w", os.ErrExist))
	if !errors.Is(err, fail.ErrRefused) || !errors.Is(err, ErrExists) {
		t.Fatalf("createErr on EEXIST: %v, want refused/exists", err)
	}
	err = createErr("blob", "/d/k.bb", fmt.Errorf("write: %w", unix.ENOSPC))
	if errors.Is(err, fail.ErrRefused) || !errors.Is(err, unix.ENOSPC) || !strings.Contains(err.Error(), "/d/k.bb") {
		t.Fatalf("createErr on ENOSPC: %v, want a plain error naming the file and keeping the errno", err)
	}
}

// When a forced save fails after the old blob was backed up, the error
// names the backup: the caller gets no backup path on error, and the
// log line about it is below the default log level.
func TestForcedSaveFailureNamesBackup(t *testing.T) {
	s := newStore(t)
	if _, err := s.Save("k", []byte("black1"), []byte("blob1"), false); err != nil {
		t.Fatal(err)
	}
	os.Remove(s.KeyPath("k"))
	if err := os.Mkdir(s.KeyPath("k"), 0o700); err != nil {
		t.Fatal(err)
	}
	backup, err := s.Save("k", []byte("black2"), []byte("blob2"), true)
	if err == nil {
		t.Fatal("forced Save succeeded with a directory in the key's place")
	}
	if backup == "" || !strings.Contains(err.Error(), backup) {
		t.Fatalf("error %q does not name the backup %q", err, backup)
	}
	if b, _ := s.LoadBlob("k"); string(b) != "blob1" {
		t.Fatalf("blob is %q after the failed forced save, want the old one back", b)
	}
}

// A key directory others could change is refused for writing and reading:
// a symlink, or group- or world-writable. 0755 (caam-keygen's mkdir) is fine.
func TestKeyDirMustBeOwnersOnly(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if _, err := New(link).Save("k", []byte("key"), []byte("blob"), false); !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("Save into a symlinked key directory: %v", err)
	}
	for _, mode := range []os.FileMode{0o770, 0o707, 0o777, 0o1777} {
		if err := os.Chmod(real, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := New(real).Save("k", []byte("key"), []byte("blob"), false); !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), "writable") {
			t.Fatalf("Save into a %04o key directory: %v", mode, err)
		}
		if _, err := New(real).LoadBlob("k"); !errors.Is(err, fail.ErrRefused) {
			t.Fatalf("LoadBlob from a %04o key directory: %v", mode, err)
		}
	}
	if ents, _ := os.ReadDir(real); len(ents) != 0 {
		t.Fatalf("refused saves left %v", ents)
	}
	if err := os.Chmod(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(real).Save("k", []byte("key"), []byte("blob"), false); err != nil {
		t.Fatalf("Save into a 0755 key directory: %v", err)
	}
}

// A key directory that does not exist yet holds no key: loading one is
// "not found" (so format makes the key), not an I/O failure.
func TestLoadFromMissingDirIsNotFound(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "no", "caam")}
	for _, load := range []func(string) ([]byte, error){s.LoadBlob, s.LoadKey} {
		if _, err := load("k"); !errors.Is(err, fail.ErrNotFound) {
			t.Errorf("load from a missing key directory: %v, want fail.ErrNotFound", err)
		}
	}
}
