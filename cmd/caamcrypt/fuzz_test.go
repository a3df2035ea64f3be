package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

// numericFlag is one numeric command-line argument and the values its
// command accepts.
type numericFlag struct {
	args  []string // command line before the flag
	flag  string
	valid func(v int64) bool
}

var numericFlags = []numericFlag{
	{[]string{"key", "create", "k"}, "--size", func(v int64) bool { return v >= 16 && v <= 64 }},
	{[]string{"key", "derive", "k", "--passphrase-file", "-"}, "--size", func(v int64) bool { return v >= 16 && v <= 64 }},
	{[]string{"key", "derive", "k", "--passphrase-file", "-"}, "--iter", func(v int64) bool { return v >= 1 }},
	{[]string{"format", "/nonexistent/caamcrypt-fuzz"}, "--sector-size", func(v int64) bool { return v >= 512 && v <= 4096 && v&(v-1) == 0 }},
	{[]string{"format", "/nonexistent/caamcrypt-fuzz"}, "--key-size", func(v int64) bool { return v >= 16 && v <= 64 }},
}

// FuzzNumericArgs runs the real command line with an arbitrary value for
// each numeric argument (sizes, sector sizes, iterations), on a machine
// state where nothing can succeed: no CAAM device, no such block device, an
// empty key directory. Properties: no panic; never exit 0; a value that is
// not a number, or a number the command does not accept, is refused as a
// usage error (exit 2) before any device is looked at; an accepted value
// ends in "no CAAM" (3) or "not found" (6); the key directory stays empty.
func FuzzNumericArgs(f *testing.F) {
	for i := range numericFlags {
		for _, s := range []string{"32", "16", "64", "15", "65", "0", "-1", "512", "4096", "1000", "0x20", "0o20", "1_6",
			"99999999999999999999", "-9223372036854775808", "1e3", "", " 32", "32 ", "abc", "--force"} {
			testutil.Seed(f, i, s)
		}
	}
	f.Fuzz(func(t *testing.T, which int, val string) {
		if which < 0 || which >= len(numericFlags) {
			return
		}
		nf := numericFlags[which]
		dir := t.TempDir()
		keyDir := filepath.Join(dir, "keys")
		if err := os.Mkdir(keyDir, 0o700); err != nil {
			t.Fatal(err)
		}
		args := []string{"caamcrypt", "--key-dir", keyDir, "--caam-device", filepath.Join(dir, "no-caam"), "--config", filepath.Join(dir, "caamtab")}
		args = append(append(args, nf.args...), nf.flag+"="+val)
		var out, errb bytes.Buffer
		code := run(args, strings.NewReader("passphrase\n"), &out, &errb)
		if code == fail.ExitOK {
			t.Fatalf("%q: exit 0", args)
		}
		v, perr := strconv.ParseInt(val, 0, 64)
		wantUsage := perr != nil || !nf.valid(v)
		switch {
		case wantUsage && code != fail.ExitUsage:
			t.Fatalf("%q: exit %d, want %d (usage); stderr %s", args, code, fail.ExitUsage, errb.String())
		case !wantUsage && code != fail.ExitNotReady && code != fail.ExitNotFound:
			t.Fatalf("%q: exit %d, want %d or %d; stderr %s", args, code, fail.ExitNotReady, fail.ExitNotFound, errb.String())
		}
		if !strings.HasPrefix(errb.String(), "caamcrypt: ") {
			t.Fatalf("%q: stderr %q is not one caamcrypt message", args, errb.String())
		}
		if ents, err := os.ReadDir(keyDir); err != nil || len(ents) != 0 {
			t.Fatalf("%q: key directory now holds %v (%v)", args, ents, err)
		}
	})
}
