package cross

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMakeCross builds both binaries with `make cross` (test/cross/cgo-env.sh
// for the Debian sysroot, then packaging/cross/build.sh, as CI and users
// do) and checks each, default and stripped.
func TestMakeCross(t *testing.T) {
	require(t, crossTools...)
	want := gitVersion(t) // before the build: the tree may change later
	bin := t.TempDir()
	out, err := exec.Command("make", "-C", repoRoot, "--no-print-directory", "cross", "BIN="+bin).CombinedOutput()
	if err != nil {
		t.Fatalf("make cross: %v\n%s", err, out)
	}
	t.Logf("make cross:\n%s", out)
	for _, tg := range armTargets {
		t.Run(tg.arch, func(t *testing.T) {
			sysroot := sourceEnv(t, filepath.Join(bin, "environment-setup-debian-"+tg.arch))["CAAMCRYPT_SYSROOT"]
			if sysroot == "" {
				t.Fatal("cgo-env.sh exported no CAAMCRYPT_SYSROOT")
			}
			checkBinary(t, tg, filepath.Join(bin, "caamcrypt-"+tg.arch), sysroot, want)
			t.Run("stripped", func(t *testing.T) {
				checkBinary(t, tg, filepath.Join(bin, "caamcrypt-"+tg.arch+"-stripped"), sysroot, want)
				if syms, _ := openELF(t, filepath.Join(bin, "caamcrypt-"+tg.arch+"-stripped")).Symbols(); len(syms) != 0 {
					t.Errorf("stripped binary still has %d symbols", len(syms))
				}
			})
		})
	}
}

// gitVersion is what the Makefile must stamp: `git describe` of the tree,
// or "unknown" outside a git checkout; never the source default "dev".
func gitVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "-C", repoRoot, "describe", "--tags", "--always", "--dirty").Output()
	v := strings.TrimSpace(string(out))
	if err != nil || v == "" {
		v = "unknown"
	}
	if v == "dev" {
		t.Fatal(`git describe says "dev", the unstamped default: cannot tell stamping from no stamping`)
	}
	return v
}
