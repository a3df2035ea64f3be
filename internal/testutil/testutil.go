// Package testutil holds the helpers tests use to decide whether they can run
// here: tests that need root, a kernel feature or a tool skip through these
// helpers with a clear reason instead of failing or exiting.
package testutil

import (
	"os"
	"os/exec"
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
