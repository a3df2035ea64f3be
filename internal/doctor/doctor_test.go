package doctor

import (
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const procCryptoTk = `name         : tk(cbc(aes))
driver       : tk-cbc-aes-caamsim
module       : caamsim
priority     : 3000

name         : tk(ecb(aes))
driver       : tk-ecb-aes-caamsim
module       : caamsim
priority     : 3000

name         : cbc(aes)
driver       : cbc(aes-generic)
`

// tree builds a fake /dev, /proc, /run under a temp dir.
func tree(t *testing.T, crypto string, withDM, withUdev bool) Env {
	root := t.TempDir()
	mk := func(p, content string) {
		p = filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("proc/crypto", crypto)
	if withDM {
		mk("dev/mapper/control", "")
		mk("proc/misc", "183 hw_random\n236 device-mapper\n")
	} else {
		// libdevmapper may have made the node although the kernel has no dm.
		mk("dev/mapper/control", "")
		mk("proc/misc", "183 hw_random\n")
	}
	if withUdev {
		mk("run/udev/control", "")
	}
	return Env{
		Dev: filepath.Join(root, "dev"), Proc: filepath.Join(root, "proc"),
		Run: filepath.Join(root, "run"), Boot: filepath.Join(root, "boot"),
		CAAMDevice:   "/dev/null", // a character device standing for /dev/caam-keygen
		DMTargets:    func() ([]TargetVersion, error) { return []TargetVersion{{"linear", 1, 4, 0}, {"crypt", 1, 24, 0}}, nil },
		KeyringProbe: func() error { return nil },
		LookPath:     func(n string) (string, error) { return "/sbin/" + n, nil },
	}
}

func byName(r Report, name string) Result {
	for _, x := range r.Results {
		if x.Name == name {
			return x
		}
	}
	return Result{}
}

func TestReady(t *testing.T) {
	r := Run(tree(t, procCryptoTk, true, true))
	if !r.Ready {
		t.Fatalf("not ready: %+v", r.Results)
	}
	if d := byName(r, "tk ciphers").Detail; !strings.Contains(d, "tk-cbc-aes-caamsim") {
		t.Errorf("tk detail %q", d)
	}
	if d := byName(r, "device-mapper crypt target").Detail; d != "crypt target v1.24.0" {
		t.Errorf("dm detail %q", d)
	}
	if d := byName(r, "udev").Detail; !strings.Contains(d, "udev is running") {
		t.Errorf("udev detail %q", d)
	}
}

func TestNotReadyNamesWhatIsMissing(t *testing.T) {
	e := tree(t, "name : cbc(aes)\ndriver : cbc-aes-aesni\n", false, false)
	e.CAAMDevice = filepath.Join(e.Dev, "caam-keygen")
	e.KeyringProbe = func() error { return errors.New("operation not supported") }
	e.LookPath = func(n string) (string, error) { return "", errors.New("no") }
	// A kernel config that has dm-crypt but not the tk API.
	os.MkdirAll(e.Boot, 0o755)
	os.WriteFile(filepath.Join(e.Boot, "config-6.1.0-test"), []byte("CONFIG_DM_CRYPT=m\nCONFIG_KEYS=y\n"), 0o644)
	e.KernelRelease = "6.1.0-test"

	r := Run(e)
	if r.Ready {
		t.Fatal("ready without CAAM, dm and keyring")
	}
	want := map[string]Status{
		"caam-keygen device":         Fail,
		"tk ciphers":                 Fail,
		"device-mapper crypt target": Fail,
		"kernel keyring":             Fail,
		"udev":                       OK,
		"filesystem tools":           Warn,
	}
	for name, st := range want {
		if got := byName(r, name); got.Status != st {
			t.Errorf("%s: %s (%s), want %s", name, got.Status, got.Detail, st)
		}
	}
	if h := byName(r, "tk ciphers").Hint; !strings.Contains(h, "CONFIG_CRYPTO_DEV_FSL_CAAM_TK_API (not set") {
		t.Errorf("tk hint %q", h)
	}
	if h := byName(r, "device-mapper crypt target").Hint; !strings.Contains(h, "CONFIG_DM_CRYPT=m") {
		t.Errorf("dm hint %q", h)
	}
}

func TestNoCryptTarget(t *testing.T) {
	e := tree(t, procCryptoTk, true, false)
	e.DMTargets = func() ([]TargetVersion, error) { return []TargetVersion{{"linear", 1, 4, 0}}, nil }
	if got := byName(Run(e), "device-mapper crypt target"); got.Status != Fail {
		t.Fatalf("no crypt target: %+v", got)
	}
	e.DMTargets = func() ([]TargetVersion, error) { return []TargetVersion{{"crypt", 1, 14, 0}}, nil }
	if got := byName(Run(e), "device-mapper crypt target"); got.Status != Warn {
		t.Fatalf("crypt 1.14: %+v", got)
	}
}

func TestProcConfigGz(t *testing.T) {
	e := tree(t, procCryptoTk, true, false)
	f, _ := os.Create(filepath.Join(e.Proc, "config.gz"))
	z := gzip.NewWriter(f)
	z.Write([]byte("# comment\nCONFIG_CRYPTO_DEV_FSL_CAAM_TK_API=y\n"))
	z.Close()
	f.Close()
	cfg := kernelConfig(e)
	if cfg["CONFIG_CRYPTO_DEV_FSL_CAAM_TK_API"] != "y" || len(cfg) != 1 {
		t.Fatalf("config %v", cfg)
	}
}

// An mke2fs that is BusyBox's applet is reported (it cannot make ext4),
// naming the Debian and Yocto packages.
func TestBusyBoxMke2fs(t *testing.T) {
	e := tree(t, procCryptoTk, true, true)
	dir := t.TempDir()
	script := "#!/bin/sh\necho 'BusyBox v1.36.1 multi-call binary.' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(dir, "mke2fs"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.LookPath = func(n string) (string, error) { return filepath.Join(dir, n), nil }
	r := byName(Run(e), "filesystem tools")
	if r.Status != Warn || !strings.Contains(r.Detail, "BusyBox") || !strings.Contains(r.Hint, "e2fsprogs-mke2fs") {
		t.Fatalf("busybox mke2fs: %+v", r)
	}
}
