package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
)

// volumeImage writes a 2 MiB image file holding a valid caamcrypt header
// made by the header package, as format would write it.
func volumeImage(t *testing.T, dir string) string {
	t.Helper()
	h := &header.Header{
		UUID: uuid.New(), Label: "exitcodes", Backend: "caam-blob", Cipher: "capi:tk(cbc(aes))-plain",
		KeyEnc: "ecb", RedKeyLen: 32, KeyLen: header.KeyLenFor("ecb", 32), SectorSize: 4096,
		PayloadOffset: header.DefaultPayloadOffset, Created: time.Unix(1700000000, 0).UTC(),
		Blob: tagged(t, caamc.ECB, 32, true),
	}
	path := filepath.Join(dir, "volume.img")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(2 << 20); err != nil {
		t.Fatal(err)
	}
	if err := header.Write(f, h); err != nil {
		t.Fatal(err)
	}
	return path
}

// flipByte damages one byte of a file in place.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestEveryExitCode produces each documented exit code through the whole
// CLI, with real files and the real header code (on the build machine,
// without a CAAM or device-mapper; the QEMU rig covers the kernel paths),
// and checks the message says what to act on, once.
func TestEveryExitCode(t *testing.T) {
	dir := t.TempDir()
	key := writeTemp(t, "k", tagged(t, caamc.ECB, 16, false))
	img := volumeImage(t, dir)
	backup := filepath.Join(dir, "backup")
	damaged := volumeImage(t, t.TempDir())
	flipByte(t, damaged, 256+40)
	flipByte(t, damaged, header.CopyOffsets[1]+256+40)
	noCAAM := filepath.Join(dir, "caam-keygen")

	cases := []struct {
		name string
		args []string
		code int
		says string
	}{
		{"ok", []string{"key", "info", key}, fail.ExitOK, ""},
		{"header backup", []string{"header", "backup", img, backup}, fail.ExitOK, ""},
		{"failure", []string{"header", "backup", img, filepath.Join(key, "below-a-file")}, fail.ExitFailure, "not a directory"},
		{"usage", []string{"key", "create", "--size", "8", "k"}, fail.ExitUsage, "between 16 and 64 bytes"},
		{"unknown command", []string{"frob"}, fail.ExitUsage, `unknown command "frob"`},
		{"not ready", []string{"--caam-device", noCAAM, "key", "import", filepath.Join(dir, "x.bb"), "k"}, fail.ExitNotReady, "caam-keygen"},
		{"refused", []string{"header", "backup", img, backup}, fail.ExitRefused, backup},
		{"wrong key", []string{"header", "dump", damaged}, fail.ExitWrongKey, damaged},
		{"not found", []string{"key", "info", filepath.Join(dir, "no-such-key")}, fail.ExitNotFound, "no-such-key"},
		{"no table", []string{"open", "--all", "--config", filepath.Join(dir, "no-tab")}, fail.ExitNotFound, "volume table " + filepath.Join(dir, "no-tab")},
	}
	if err := os.WriteFile(filepath.Join(dir, "x.bb"), tagged(t, caamc.ECB, 16, true), 0o600); err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, c := range cases {
		code, _, errs := runCLI(t, "", append([]string{"--key-dir", filepath.Join(dir, "keys")}, c.args...)...)
		if code != c.code {
			t.Errorf("%s: %v: exit %d, want %d; stderr %q", c.name, c.args, code, c.code, errs)
			continue
		}
		seen[code] = true
		if c.says != "" && !strings.Contains(errs, c.says) {
			t.Errorf("%s: message %q does not say %q", c.name, errs, c.says)
		}
		if code != 0 {
			msg := strings.TrimPrefix(strings.TrimSpace(errs), "caamcrypt: ")
			for _, cat := range []error{fail.ErrUsage, fail.ErrNotReady, fail.ErrRefused, fail.ErrWrongKey, fail.ErrNotFound} {
				if n := strings.Count(msg, cat.Error()+": "); n > 1 || (n == 1 && !strings.HasPrefix(msg, cat.Error()+": ")) {
					t.Errorf("%s: category %q stands inside the message instead of once in front: %q", c.name, cat, msg)
				}
			}
		}
	}
	for code := fail.ExitOK; code <= fail.ExitNotFound; code++ {
		if !seen[code] {
			t.Errorf("exit code %d was not produced", code)
		}
	}
}
