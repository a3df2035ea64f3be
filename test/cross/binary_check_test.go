package cross

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// armTarget is what a caamcrypt binary for one i.MX family must look like.
type armTarget struct {
	arch    string // Debian's name: arm64, armhf
	goarch  string
	triplet string
	qemu    string
	machine elf.Machine
	class   elf.Class
	interp  string
	// flags are e_flags bits that must be set: on armhf the EABI version 5
	// and the hard-float ABI (an armel soft-float binary would not run on
	// an armhf image).
	flags uint32
	// needed is the whole DT_NEEDED list: libdevmapper (Debian's soname,
	// docs/caam-abi.md §11) and libc; anything else is a surprise.
	needed []string
}

var armTargets = []armTarget{
	{"arm64", "arm64", "aarch64-linux-gnu", "qemu-aarch64", elf.EM_AARCH64, elf.ELFCLASS64,
		"/lib/ld-linux-aarch64.so.1", 0, []string{"libc.so.6", "libdevmapper.so.1.02.1"}},
	{"armhf", "arm", "arm-linux-gnueabihf", "qemu-arm", elf.EM_ARM, elf.ELFCLASS32,
		"/lib/ld-linux-armhf.so.3", 0x05000000 | 0x400, []string{"libc.so.6", "libdevmapper.so.1.02.1"}},
}

// crossTools are what a cross build and its checks run.
var crossTools = []string{"make", "pkg-config", "apt-get", "dpkg", "sha256sum",
	"aarch64-linux-gnu-gcc", "arm-linux-gnueabihf-gcc", "aarch64-linux-gnu-strip", "arm-linux-gnueabihf-strip",
	"qemu-aarch64", "qemu-arm"}

// checkBinary checks the ELF headers of a cross-built caamcrypt and runs
// it under qemu-user with the target's sysroot as its root for the dynamic
// loader. Each check is a named subtest, so a CI log says which failed.
func checkBinary(t *testing.T, tg armTarget, bin, sysroot, wantVersion string) {
	t.Run("elf-machine", func(t *testing.T) {
		f := openELF(t, bin)
		if f.Machine != tg.machine || f.Class != tg.class || f.Data != elf.ELFDATA2LSB || f.OSABI != elf.ELFOSABI_NONE {
			t.Fatalf("%s: machine %v class %v data %v osabi %v, want %v %v little-endian SYSV", bin, f.Machine, f.Class, f.Data, f.OSABI, tg.machine, tg.class)
		}
		if flags := elfFlags(t, bin, f); flags&tg.flags != tg.flags {
			t.Fatalf("%s: e_flags %#x lack %#x", bin, flags, tg.flags)
		}
		t.Logf("%s: %v %v e_flags ok", filepath.Base(bin), f.Machine, f.Class)
	})
	t.Run("interpreter", func(t *testing.T) {
		f := openELF(t, bin)
		var got string
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				b := make([]byte, p.Filesz)
				if _, err := p.ReadAt(b, 0); err != nil {
					t.Fatal(err)
				}
				got = string(bytes.TrimRight(b, "\x00"))
			}
		}
		if got != tg.interp {
			t.Fatalf("%s: interpreter %q, want %q", bin, got, tg.interp)
		}
		if _, err := os.Stat(filepath.Join(sysroot, got)); err != nil {
			t.Fatalf("interpreter not in the sysroot: %v", err)
		}
		t.Logf("interpreter %s", got)
	})
	t.Run("needed", func(t *testing.T) {
		got, err := openELF(t, bin).ImportedLibraries()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		if !slices.Equal(got, tg.needed) {
			t.Fatalf("%s: NEEDED %q, want exactly %q", bin, got, tg.needed)
		}
		t.Logf("NEEDED %s", strings.Join(got, " "))
	})
	run := func(t *testing.T, args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(tg.qemu, append([]string{"-L", sysroot, bin}, args...)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit):
			code = exit.ExitCode()
		default:
			t.Fatalf("run %s %v: %v", tg.qemu, args, err)
		}
		return o.String(), e.String(), code
	}
	t.Run("version", func(t *testing.T) {
		out, errOut, code := run(t, "--version")
		if code != 0 || out != "caamcrypt version "+wantVersion+"\n" {
			t.Fatalf("--version: exit %d, stdout %q stderr %q; want %q", code, out, errOut, "caamcrypt version "+wantVersion)
		}
		t.Logf("--version: %s", strings.TrimSpace(out))
	})
	t.Run("key-info", func(t *testing.T) {
		dir := t.TempDir()
		key := filepath.Join(dir, "db")
		if err := os.WriteFile(key, taggedECBKey(16), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := run(t, "key", "info", "--json", key)
		if code != 0 {
			t.Fatalf("key info: exit %d: %s", code, errOut)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("key info output %q: %v", out, err)
		}
		// docs/caam-abi.md §3: a 16-byte ECB black key is a 16-byte
		// object plus the 20-byte tag; dm-crypt gets all 36 bytes.
		want := map[string]any{"kind": "black-key", "encryption": "ecb", "kek": "JDKEK", "type": 1.0,
			"red_key_len": 16.0, "object_len": 16.0, "file_len": 36.0, "dm_key_len": 36.0}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("key info %s = %v, want %v (output %s)", k, got[k], v, out)
			}
		}
		short := filepath.Join(dir, "short")
		if err := os.WriteFile(short, taggedECBKey(16)[:35], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, errOut, code := run(t, "key", "info", short); code != 2 || !strings.Contains(errOut, "truncated") {
			t.Errorf("key info of a 35-byte key: exit %d, stderr %q; want exit 2 and \"truncated\"", code, errOut)
		}
		t.Logf("key info: 36-byte ECB key decoded, 35-byte one refused")
	})
	t.Run("doctor", func(t *testing.T) {
		dev := filepath.Join(t.TempDir(), "caam-keygen")
		out, errOut, code := run(t, "--caam-device", dev, "doctor", "--json")
		var rep struct {
			Ready  bool
			Checks []struct{ Name, Status, Detail string }
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("doctor output %q: %v", out, err)
		}
		// Exit 3 is "not supported here" (README, exit codes).
		if code != 3 || rep.Ready || !strings.Contains(errOut, "not supported here") {
			t.Fatalf("doctor without a CAAM: exit %d ready %v stderr %q; want exit 3, not ready", code, rep.Ready, errOut)
		}
		wantDetail := dev + " is missing: CAAM black keys cannot be made or imported"
		i := slices.IndexFunc(rep.Checks, func(c struct{ Name, Status, Detail string }) bool { return c.Name == "caam-keygen device" })
		if i < 0 || rep.Checks[i].Status != "fail" || rep.Checks[i].Detail != wantDetail {
			t.Fatalf("doctor checks %+v: want caam-keygen device failing with %q", rep.Checks, wantDetail)
		}
		t.Logf("doctor: exit 3, %q", rep.Checks[i].Detail)
	})
}

func openELF(t *testing.T, path string) *elf.File {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// elfFlags reads e_flags, which debug/elf does not expose: it follows
// e_entry, e_phoff and e_shoff in the header.
func elfFlags(t *testing.T, path string, f *elf.File) uint32 {
	t.Helper()
	hdr := make([]byte, 64)
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.ReadAt(hdr, 0); err != nil {
		t.Fatal(err)
	}
	off := 36 // ELF32: 16 ident + 2 type + 2 machine + 4 version + 3*4 addresses
	if f.Class == elf.ELFCLASS64 {
		off = 48 // ELF64: addresses are 8 bytes
	}
	return f.ByteOrder.Uint32(hdr[off:])
}

// taggedECBKey is a black ECB key file of a redLen-byte key as caam-keygen
// writes it (docs/caam-abi.md §3): five little-endian u32 (magic "TagO",
// version 0, type 1 = black ECB key, red_key_len, obj_len) and the object,
// roundup(redLen, 16) bytes.
func taggedECBKey(redLen uint32) []byte {
	obj := (redLen + 15) / 16 * 16
	b := binary.LittleEndian.AppendUint32(nil, 0x5461674f)
	for _, v := range []uint32{0, 1, redLen, obj} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	for i := uint32(0); i < obj; i++ {
		b = append(b, byte(0xa0+i))
	}
	return b
}
