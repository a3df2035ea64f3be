package cross

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the module root, seen from this package's directory (go test
// runs each package's tests in the package directory).
const repoRoot = "../.."

// require skips when a tool is missing, or fails when CAAMCRYPT_CROSS is
// "required" (make test), so CI cannot pass by skipping.
func require(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CAAMCRYPT_CROSS") == "required" {
				t.Fatalf("%s is missing (make deps installs the Makefile's DEB_PACKAGES)", tool)
			}
			t.Skipf("needs %s on PATH", tool)
		}
	}
}

// sourceEnv returns the environment after a shell sources file: what a
// build from that environment-setup file sees.
func sourceEnv(t *testing.T, file string) map[string]string {
	t.Helper()
	out, err := exec.Command("bash", "-c", `set -a; . "$1" >/dev/null; env -0`, "_", file).Output()
	if err != nil {
		t.Fatalf("source %s: %v", file, err)
	}
	env := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// debianEnv runs cgo-env.sh for arch (arm64, armhf): it makes the Debian
// sysroot if needed and returns the file it printed and its variables.
func debianEnv(t *testing.T, arch string) (string, map[string]string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "environment-setup-debian-"+arch)
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("./cgo-env.sh", arch)
	cmd.Stdout = f
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	f.Close()
	if err != nil {
		t.Fatalf("cgo-env.sh %s: %v\n%s", arch, err, stderr.String())
	}
	return file, sourceEnv(t, file)
}
