package vm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// MustBuildGoTest compiles the tests of one package of this module (go test
// -c, cgo on) into a guest binary and returns its host path, so package
// tests that need a real kernel (root, device-mapper, keyrings) can run
// inside a guest: `/usr/bin/dm.test -test.v`.
func MustBuildGoTest(t testing.TB, pkg string) string {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatalf("QEMU rig: %v", err)
	}
	dir, err := cacheDir()
	if err != nil {
		t.Fatalf("QEMU rig: %v", err)
	}
	out := filepath.Join(dir, "bin", strings.NewReplacer("/", "_", ".", "_").Replace(strings.Trim(pkg, "./"))+".test")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "test", "-c", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("QEMU rig: %v", fmt.Errorf("go test -c %s: %w\n%s", pkg, err, b))
	}
	return out
}
