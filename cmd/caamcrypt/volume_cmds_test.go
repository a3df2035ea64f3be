package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

func TestVolumeUsageErrors(t *testing.T) {
	for _, a := range [][]string{
		{"format"},
		{"format", "/dev/a", "/dev/b"},
		{"format", "--type", "luks", "/dev/null"},
		{"format", "--fs", "xfs", "/dev/null"},
		{"format", "--sector-size", "1000", "/dev/null"},
		{"format", "--key-size", "8", "/dev/null"},
		{"format", "--fs", "none", "--mount", "/mnt", "/dev/null"},
		{"open"},
		{"open", "data", "--name", "other"},
		{"close"},
		{"status", "a", "b"},
		{"header", "backup", "/dev/null"},
		{"header", "restore", "/dev/null"},
		{"header", "dump"},
		{"header", "repair"},
		{"format", "--no-such-flag", "/dev/null"},
	} {
		code, _, errs := runCLI(t, "", a...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (stderr %q)", a, code, errs)
		}
	}
}

func TestIsDeviceArg(t *testing.T) {
	for s, want := range map[string]bool{
		"/dev/vdb": true, "UUID=0b6f3a64-2d8e-4c3f-9a55-3c1d2e4f5a6b": true, "LABEL=data": true,
		"data": false, "db-1": false, "./img": true,
	} {
		if got := isDeviceArg(s); got != want {
			t.Errorf("isDeviceArg(%q) = %v, want %v", s, got, want)
		}
	}
}

// Off a terminal, progress is one line per 10%, never repeated.
func TestProgressPlainLines(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, "wiping")
	for done := int64(0); done <= 1000; done += 7 {
		p.update(done, 1000)
	}
	p.update(1000, 1000)
	p.finish()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 11 || lines[0] != "wiping: 0%" || lines[10] != "wiping: 100%" || lines[5] != "wiping: 50%" {
		t.Fatalf("progress lines %q", lines)
	}
}

// Plain volumes have no key check (no header, the seed's layout): the help
// of format and open must say so, since a wrong key maps garbage silently.
func TestPlainHelpSaysNoKeyCheck(t *testing.T) {
	for _, cmd := range []string{"format", "open"} {
		code, out, errs := runCLI(t, "", cmd, "--help")
		if code != 0 {
			t.Fatalf("%s --help: exit %d (stderr %q)", cmd, code, errs)
		}
		if !strings.Contains(out, "no wrong-key check") {
			t.Errorf("%s --help does not say plain volumes have no wrong-key check:\n%s", cmd, out)
		}
	}
}

// A plain word that names a file in the current directory is that file; if
// the volume table has an entry of the same name, the word is refused.
func TestOpenWordThatIsAFile(t *testing.T) {
	dir := t.TempDir()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chdir(wd) })
	for _, f := range []string{"secrets", "disk.img"} {
		if err := os.WriteFile(f, make([]byte, 4096), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile("tab", []byte("secrets /dev/vdz -\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "", "--config", "tab", "open", "secrets")
	if code != fail.ExitUsage || !strings.Contains(errs, "write ./secrets") {
		t.Errorf("open secrets (a file and a table entry): exit %d, stderr %q; want %d and how to name the file", code, errs, fail.ExitUsage)
	}
	code, _, errs = runCLI(t, "", "--config", "tab", "open", "disk.img")
	if want := filepath.Join(dir, "disk.img") + " is not a caamcrypt volume"; code != fail.ExitNotFound || !strings.Contains(errs, want) {
		t.Errorf("open disk.img (a file only): exit %d, stderr %q; want %d and %q", code, errs, fail.ExitNotFound, want)
	}
}
