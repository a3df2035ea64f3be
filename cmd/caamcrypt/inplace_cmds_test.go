package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/inplace"
)

// transitionImage is a volume image whose tail holds the record of an
// encrypt stopped at 25%, as a killed caamcrypt encrypt leaves it.
func transitionImage(t *testing.T) string {
	t.Helper()
	path := volumeImage(t, t.TempDir())
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r := &inplace.Record{Direction: inplace.Encrypt, Chunk: 4096, Progress: 3 << 16, Total: 4 << 16, DevSize: uint64(st.Size()), Shift: 4096}
	if err := inplace.NewLog(f, inplace.TailBase(st.Size())).Start(r); err != nil {
		t.Fatal(err)
	}
	return path
}

// The exit codes of the in-place commands that need no CAAM or
// device-mapper (the QEMU rig's TestInplace covers the rest): a device in
// transition is refused by the other commands with the command to run.
func TestInplaceCommandExits(t *testing.T) {
	dir := t.TempDir()
	img := transitionImage(t)
	cases := []struct {
		args []string
		code int
		says string
	}{
		{[]string{"encrypt"}, fail.ExitUsage, "DEVICE"},
		{[]string{"encrypt", "--sector-size", "0", img}, fail.ExitUsage, "--sector-size 0"},
		{[]string{"decrypt", "a", "b"}, fail.ExitUsage, ""},
		{[]string{"decrypt", filepath.Join(dir, "no-such-device")}, fail.ExitNotFound, "no-such-device"},
		{[]string{"reencrypt", "--config", filepath.Join(dir, "no-tab"), "vz"}, fail.ExitNotFound, "vz"},
		{[]string{"header", "dump", img}, fail.ExitRefused, "encrypt in progress on " + img + " (25%): run caamcrypt encrypt " + img},
		{[]string{"header", "backup", img, filepath.Join(dir, "b")}, fail.ExitRefused, "encrypt in progress"},
		{[]string{"open", img}, fail.ExitRefused, "encrypt in progress"},
		{[]string{"decrypt", img}, fail.ExitRefused, "encrypt in progress"},
		{[]string{"reencrypt", img}, fail.ExitRefused, "encrypt in progress"},
	}
	for _, c := range cases {
		code, _, errs := runCLI(t, "", append([]string{"--key-dir", filepath.Join(dir, "keys")}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.says) {
			t.Errorf("%v: exit %d, want %d saying %q; stderr %q", c.args, code, c.code, c.says, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); err == nil {
		t.Error("header backup of a device in transition wrote a file")
	}
}
