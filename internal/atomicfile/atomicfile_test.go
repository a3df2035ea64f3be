package atomicfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteCreatesWithMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	if err := Write(p, []byte("black"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); string(got) != "black" {
		t.Fatalf("content %q", got)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestCreateRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.bb")
	if err := Create(p, []byte("old"), 0o400); err != nil {
		t.Fatal(err)
	}
	err := Create(p, []byte("new"), 0o400)
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: %v, want ErrExists", err)
	}
	if got := readFile(t, p); string(got) != "old" {
		t.Fatalf("existing file changed to %q", got)
	}
	assertNoTemp(t, dir)
}

func TestCreateRefusesDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	target := filepath.Join(dir, "elsewhere")
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	if err := Create(p, []byte("x"), 0o600); !errors.Is(err, ErrExists) {
		t.Fatalf("Create over symlink: %v, want ErrExists", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("symlink target was written: %v", err)
	}
}

func TestWriteDoesNotFollowSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	if err := os.WriteFile(target, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "link")
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, target); string(got) != "precious" {
		t.Fatalf("symlink target changed to %q", got)
	}
	if st, _ := os.Lstat(p); st.Mode()&fs.ModeSymlink != 0 {
		t.Fatal("link still a symlink after Write")
	}
}

// A failure between write and rename (a crash, a full disk at the last
// moment) must leave the old file intact and no temporary file behind.
func TestFailureBeforeRenameKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.bb")
	old := []byte("old blob")
	if err := Write(p, old, 0o400); err != nil {
		t.Fatal(err)
	}
	injected := errors.New("power cut")
	var sawTemp string
	beforeRename = func(tmp string) error {
		sawTemp = tmp
		if got := readFile(t, tmp); string(got) != "new blob" {
			t.Errorf("temp holds %q before rename", got)
		}
		return injected
	}
	t.Cleanup(func() { beforeRename = nil })
	if err := Write(p, []byte("new blob"), 0o400); !errors.Is(err, injected) {
		t.Fatalf("Write: %v, want the injected failure", err)
	}
	fresh := filepath.Join(dir, "fresh.bb")
	if err := Create(fresh, []byte("new blob"), 0o400); !errors.Is(err, injected) {
		t.Fatalf("Create: %v, want the injected failure", err)
	}
	if _, err := os.Lstat(fresh); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("failed Create left %s behind: %v", fresh, err)
	}
	if sawTemp == "" {
		t.Fatal("hook never ran")
	}
	if got := readFile(t, p); !bytes.Equal(got, old) {
		t.Fatalf("old file changed to %q", got)
	}
	assertNoTemp(t, dir)
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if filepath.Ext(e.Name()) != "" && bytes.Contains([]byte(e.Name()), []byte(".tmp-")) {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}
