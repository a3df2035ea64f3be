package vm

import (
	"os"
	"path/filepath"
	"testing"
)

// ForEachFlavour runs fn as a subtest per flavour ("noudev", "udev"), so a
// scenario is written once and reported once per flavour.
func ForEachFlavour(t *testing.T, fn func(t *testing.T, f Flavour)) {
	t.Helper()
	for _, f := range Flavours {
		f := f
		t.Run(string(f), func(t *testing.T) { fn(t, f) })
	}
}

// RawDisk reads a disk image from the host side, for assertions about what
// actually reached the disk (e.g. that plaintext never did).
func (m *Machine) RawDisk(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(m.DiskPath(name))
	if err != nil {
		t.Fatalf("read disk %s: %v", name, err)
	}
	return b
}

// CaamsimModule returns the CAAM simulator module built by `make caamsim`
// (test/caamsim/caamsim.ko) with insmod parameters, for Config.ExtraModules.
// When it is not built the test is skipped, or fails with
// CAAMCRYPT_VM=required (the Makefile builds it before the VM tests).
// Per-boot parameters go on the kernel command line instead:
// Boot{Cmdline: "caamsim.otpmk=..."}.
func CaamsimModule(t testing.TB, params string) Module {
	return CaamsimModuleFor(t, AMD64, params)
}

// CaamsimModuleFor is CaamsimModule for a guest architecture: ARM guests
// get the simulator test/vm/armguest.sh cross-built against their kernel.
func CaamsimModuleFor(t testing.TB, a Arch, params string) Module {
	t.Helper()
	if a != AMD64 {
		h := RequireArch(t, a)
		return Module{Path: h.Caamsim, Params: params}
	}
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatalf("QEMU rig: %v", err)
	}
	p := filepath.Join(root, "test", "caamsim", "caamsim.ko")
	if _, err := os.Stat(p); err != nil {
		if Required() {
			t.Fatalf("CAAM simulator not built (make caamsim): %v", err)
		}
		t.Skipf("CAAM simulator not built (make caamsim): %v", err)
	}
	return Module{Path: p, Params: params}
}
