package vm

import (
	"os"
	"sync"
	"testing"
)

// EnvGate turns VM tests on: unset means skip; any value runs them;
// "required" makes missing prerequisites a failure rather than a skip, so
// CI cannot pass by silently skipping the rig.
const EnvGate = "CAAMCRYPT_VM"

var (
	hostOnce sync.Once
	hostVal  *Host
	hostErr  error
)

// cachedHost runs FindHost once per process.
func cachedHost() (*Host, error) {
	hostOnce.Do(func() { hostVal, hostErr = FindHost() })
	return hostVal, hostErr
}

// hostFor returns the host description for a guest architecture ("" is
// AMD64).
func hostFor(a Arch) (*Host, error) {
	if a == "" || a == AMD64 {
		return cachedHost()
	}
	return armHost(a)
}

// RequireArch is RequireVM for a guest architecture: it skips unless
// CAAMCRYPT_VM is set and fails (=required) or skips when that guest
// cannot be prepared (QEMU for it, Debian's packages, the cross-built
// CAAM simulator).
func RequireArch(t testing.TB, a Arch) *Host {
	t.Helper()
	RequireVM(t)
	h, err := hostFor(a)
	if err != nil {
		if Required() {
			t.Fatalf("%s=required: %v", EnvGate, err)
		}
		t.Skipf("%v", err)
	}
	return h
}

// Required reports whether the environment demands the VM tests run.
func Required() bool { return os.Getenv(EnvGate) == "required" }

// RequireVM skips the test unless CAAMCRYPT_VM is set, and then skips (or,
// with CAAMCRYPT_VM=required, fails) when QEMU, the kernel or busybox are
// missing. It returns the host description.
func RequireVM(t testing.TB) *Host {
	t.Helper()
	if os.Getenv(EnvGate) == "" {
		t.Skipf("QEMU rig tests are off: set %s=1 (or =required) to run them", EnvGate)
	}
	h, err := cachedHost()
	if err != nil {
		if Required() {
			t.Fatalf("%s=required: %v", EnvGate, err)
		}
		t.Skipf("%v", err)
	}
	return h
}
