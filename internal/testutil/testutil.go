// Package testutil holds the helpers tests use to decide whether they can run
// here: tests that need root, a kernel feature or a tool skip through these
// helpers with a clear reason instead of failing or exiting.
package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireRoot skips the test unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// RequirePath skips the test unless path exists; why says what the path is
// for, so the skip message tells the reader what is missing.
func RequirePath(t testing.TB, path, why string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("needs %s (%s): %v", path, why, err)
	}
}

// RequireCommand skips the test unless the named program is on PATH.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("needs %s on PATH: %v", name, err)
	}
	return p
}

// RequireDeviceMapper skips the test unless the running kernel has
// device-mapper. The /dev/mapper/control node alone proves nothing:
// libdevmapper creates it on first use even where the kernel has no dm
// (then every ioctl fails with ENODEV); /proc/misc lists the driver only
// when it is really there.
func RequireDeviceMapper(t testing.TB) {
	t.Helper()
	b, err := os.ReadFile("/proc/misc")
	if err != nil {
		t.Skipf("needs device-mapper: cannot read /proc/misc: %v", err)
	}
	if !strings.Contains(string(b), " device-mapper\n") {
		t.Skip("needs device-mapper: the running kernel has none (no device-mapper in /proc/misc; load dm-mod)")
	}
}
