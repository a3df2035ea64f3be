package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// runCLI runs one command line and returns exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"caamcrypt"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// tagged builds a tagged object file of the given kind the way the driver
// lays it out: 20-byte tag, then an object of the formula's length.
func tagged(t *testing.T, enc caamc.Encryption, redLen int, blob bool) []byte {
	t.Helper()
	typ := caamc.TypeBlack
	if enc == caamc.CCM {
		typ |= caamc.TypeCCM
	}
	objLen := caamc.BlackKeySize(enc, redLen)
	if blob {
		objLen = caamc.BlobSize(redLen)
	}
	tag := caamc.Tag{Magic: caamc.TagMagic, Type: typ, RedKeyLen: uint32(redLen), ObjLen: uint32(objLen)}
	return append(tag.Bytes(), make([]byte, objLen)...)
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKeyInfoSeedSizes(t *testing.T) {
	key := writeTemp(t, "randomkey", tagged(t, caamc.ECB, 16, false))
	blob := writeTemp(t, "randomkey.bb", tagged(t, caamc.ECB, 16, true))
	if st, _ := os.Stat(key); st.Size() != 36 {
		t.Fatalf("seed key file is %d bytes, want 36", st.Size())
	}
	if st, _ := os.Stat(blob); st.Size() != 96 {
		t.Fatalf("seed blob file is %d bytes, want 96", st.Size())
	}

	code, out, errs := runCLI(t, "", "key", "info", key)
	if code != 0 {
		t.Fatalf("key info key: exit %d, stderr %s", code, errs)
	}
	for _, want := range []string{"black black-key", "ECB", "red key      16 bytes", "= 36 bytes", ":36:logon:"} {
		if !strings.Contains(out, want) {
			t.Errorf("key info output lacks %q:\n%s", want, out)
		}
	}

	code, out, errs = runCLI(t, "", "key", "info", "--json", blob)
	if code != 0 {
		t.Fatalf("key info --json blob: exit %d, stderr %s", code, errs)
	}
	var d caamc.Description
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("bad JSON %q: %v", out, err)
	}
	if d.Kind != "blob" || d.RedKeyLen != 16 || d.ObjectLen != 76 || d.FileLen != 96 || d.Encryption != "ecb" {
		t.Fatalf("blob described as %+v", d)
	}
}

func TestKeyInfoRejectsBadFiles(t *testing.T) {
	good := tagged(t, caamc.ECB, 16, false)
	inconsistent := append([]byte(nil), good...)
	inconsistent[16] = 17 // obj_len 17: no formula gives that for a 16-byte key
	cases := map[string][]byte{
		"truncated":    good[:30],
		"inconsistent": inconsistent,
		"short":        []byte("TagO"),
	}
	for name, b := range cases {
		p := writeTemp(t, name, b)
		code, out, errs := runCLI(t, "", "key", "info", p)
		if code == 0 {
			t.Errorf("%s: exit 0, output %q", name, out)
		}
		if code != fail.ExitUsage {
			t.Errorf("%s: exit %d, want %d", name, code, fail.ExitUsage)
		}
		if !strings.Contains(errs, p) {
			t.Errorf("%s: message does not name the file: %q", name, errs)
		}
	}
	code, _, errs := runCLI(t, "", "key", "info", filepath.Join(t.TempDir(), "absent"))
	if code != fail.ExitNotFound {
		t.Errorf("missing file: exit %d (%s), want %d", code, errs, fail.ExitNotFound)
	}
}

func TestUsageErrors(t *testing.T) {
	cases := [][]string{
		{"key", "info"},
		{"key", "create"},
		{"key", "create", "a", "b"},
		{"key", "import", "only-blob"},
		{"key", "create", "--size", "notanumber", "k"},
		{"--log-level", "loud", "key", "info", "x"},
		{"--log-format", "xml", "key", "info", "x"},
		{"key", "create", "--size", "16", "--hex", "00", "k"},
		{"key", "create", "../escape"},
		{"key", "create", "--enc", "xts", "k"},
		{"key", "derive", "--digest", "md5", "k"},
		// Sizes are checked before the CAAM is opened: a usage error even
		// where there is none (here --caam-device names no file).
		{"key", "create", "-s", "8", "k"},
		{"key", "create", "--size", "65", "k"},
		{"key", "create", "--hex", "00112233", "k"},
		{"key", "derive", "--size", "8", "--passphrase-file", "/dev/null", "k"},
	}
	for _, a := range cases {
		code, _, errs := runCLI(t, "", append([]string{"--key-dir", t.TempDir(), "--caam-device", "/nonexistent"}, a...)...)
		if code != fail.ExitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", a, code, fail.ExitUsage, errs)
		}
	}
}

// Without a CAAM keygen device the key commands say what the kernel lacks
// and exit with "not ready", writing nothing.
func TestKeyCreateWithoutDevice(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	code, _, errs := runCLI(t, "", "--key-dir", dir, "--caam-device", filepath.Join(t.TempDir(), "caam-keygen"), "key", "create", "k")
	if code != fail.ExitNotReady {
		t.Fatalf("exit %d, want %d; stderr %s", code, fail.ExitNotReady, errs)
	}
	if !strings.Contains(errs, "caam-keygen") {
		t.Errorf("message does not name the missing driver: %q", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "k.bb")); err == nil {
		t.Error("a blob was written although the key was not created")
	}
}

func TestHelpListsExitCodes(t *testing.T) {
	code, out, _ := runCLI(t, "", "--help")
	if code != 0 || !strings.Contains(out, "EXIT CODES") || !strings.Contains(out, "key") {
		t.Fatalf("help: exit %d\n%s", code, out)
	}
}

func TestReorderArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	cases := []struct{ in, want string }{
		{"caamcrypt key create NAME --size 32", "caamcrypt key create --size 32 NAME"},
		{"caamcrypt --key-dir /k key create k --enc=ccm --force", "caamcrypt --key-dir /k key create --enc=ccm --force k"},
		{"caamcrypt key import a.bb b --force", "caamcrypt key import --force a.bb b"},
		{"caamcrypt open /dev/vdb --mount /mnt --readonly", "caamcrypt open --mount /mnt --readonly /dev/vdb"},
		{"caamcrypt key info -- -odd-name", "caamcrypt key info -- -odd-name"},
		{"caamcrypt unknown x --y", "caamcrypt unknown x --y"},
		// Global options after the command move in front of it.
		{"caamcrypt open X --config /y", "caamcrypt --config /y open X"},
		{"caamcrypt open --all --config=/y --key-dir /k", "caamcrypt --config=/y --key-dir /k open --all"},
		{"caamcrypt --log-level debug key info f --json --log-format json", "caamcrypt --log-level debug --log-format json key info --json f"},
	}
	for _, c := range cases {
		got := strings.Join(reorderArgs(app, strings.Fields(c.in)), " ")
		if got != c.want {
			t.Errorf("reorder(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestOptionsAfterNames(t *testing.T) {
	key := writeTemp(t, "k", tagged(t, caamc.ECB, 32, false))
	code, out, errs := runCLI(t, "", "key", "info", key, "--json")
	if code != 0 || !strings.Contains(out, `"red_key_len": 32`) {
		t.Fatalf("key info FILE --json: exit %d\n%s%s", code, out, errs)
	}
}

// Every word where a command name must stand is checked: an unknown one is
// a usage error (exit 2), not urfave/cli's help text with exit code 3.
func TestUnknownCommandIsUsageError(t *testing.T) {
	for _, a := range [][]string{{"frob"}, {"key", "frob"}, {"help", "frob"}, {"--key-dir", "/k", "frob", "x"}} {
		code, out, errs := runCLI(t, "", a...)
		if code != fail.ExitUsage || !strings.Contains(errs, `unknown command "frob"`) {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d naming the command", a, code, errs, out, fail.ExitUsage)
		}
	}
	for _, a := range [][]string{{"help"}, {"help", "key"}, {"key", "help", "create"}, {"key"}} {
		if code, _, errs := runCLI(t, "", a...); code != 0 {
			t.Errorf("%v: exit %d (%s), want 0", a, code, errs)
		}
	}
}

// A global option written after the command takes effect: the volume table
// named by --config is the one read.
func TestGlobalOptionAfterCommand(t *testing.T) {
	tab := filepath.Join(t.TempDir(), "no-such-caamtab")
	code, _, errs := runCLI(t, "", "open", "--all", "--config", tab)
	if code != fail.ExitNotFound || !strings.Contains(errs, tab) {
		t.Fatalf("open --all --config %s: exit %d, stderr %q; want exit %d naming that table", tab, code, errs, fail.ExitNotFound)
	}
}
