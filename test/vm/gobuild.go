package vm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildMu   sync.Mutex
	buildDone = map[string]string{}
)

// BuildGo builds a main package of this module (e.g. "./cmd/caamcrypt",
// "./test/vm/guest/dmcheck", relative to the module root) for the guest,
// with cgo on (dm links libdevmapper), and returns the host path of the
// binary. Each package is built once per test process into the rig's cache
// directory; Go's build cache makes rebuilds cheap.
func BuildGo(pkg string) (string, error) {
	return buildForGuest(AMD64, pkg, "", "build", "-tags", releaseTags)
}

// releaseTags are the build tags of shipped binaries (the Makefile's
// GO_TAGS), so that the guests run and the benchmarks time what ships.
const releaseTags = "urfave_cli_no_docs"

// BuildGoFor is BuildGo for a guest architecture. ARM binaries are
// cross-built with cgo against a Debian sysroot of that architecture, in
// the environment test/cross/cgo-env.sh prints (the same as make cross-*).
func BuildGoFor(a Arch, pkg string) (string, error) {
	return buildForGuest(a, pkg, "", "build", "-tags", releaseTags)
}

// BuildGoTestHooks builds a main package like BuildGo with the build tag
// caamcrypt_testhooks: the binary honours CAAMCRYPT_TEST_PAUSE (package
// internal/testpause), for the kill and signal scenarios. Release binaries
// never carry the hooks.
func BuildGoTestHooks(pkg string) (string, error) {
	return buildForGuest(AMD64, pkg, ".testhooks", "build", "-tags", "caamcrypt_testhooks,"+releaseTags)
}

// BuildGoTest compiles the tests of one package of this module (go test -c)
// into a guest binary, so package tests that need a real kernel (root,
// device-mapper, keyrings) can run inside a guest: `/usr/bin/dm.test -test.v`.
func BuildGoTest(pkg string) (string, error) {
	return buildForGuest(AMD64, pkg, ".test", "test", "-c")
}

// buildForGuest runs `go <goArgs> -o <bin> <pkg>` for linux/<arch> with cgo
// on, once per package, kind and arch in this process, and returns the
// binary's path in the rig's cache directory (name: the package path, then
// suffix, then the arch unless amd64).
func buildForGuest(a Arch, pkg, suffix string, goArgs ...string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if a != AMD64 {
		suffix += "-" + string(a)
	}
	key := pkg + suffix
	if p, ok := buildDone[key]; ok {
		return p, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	binDir := filepath.Join(dir, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(binDir, ".build-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("go", append(append(goArgs, "-o", tmp.Name()), pkg)...)
	if a != AMD64 {
		// go's arguments are plain words (package paths, flags, a path in
		// the cache directory): no quoting needed.
		script := `eval "$(test/cross/cgo-env.sh "$0")" && exec go "$@"`
		cmd = exec.Command("bash", append(append([]string{"-c", script, string(a)}, goArgs...), "-o", tmp.Name(), pkg)...)
	}
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s %s: %w\n%s", strings.Join(goArgs, " "), pkg, err, out)
	}
	// The name carries a hash of the module root: several worktrees share
	// the cache directory, and one's build must not replace the binary
	// another is about to copy into its guest image (seen: a scenario ran
	// another worktree's caamcrypt).
	rootSum := sha256.Sum256([]byte(root))
	out := filepath.Join(binDir, strings.NewReplacer("/", "_", ".", "_").Replace(strings.Trim(pkg, "./"))+suffix+
		"-"+hex.EncodeToString(rootSum[:4]))
	// A rename, so a guest image being assembled by another test process
	// from an older binary keeps reading a whole file.
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	buildDone[key] = out
	return out, nil
}

// MustBuildGo is BuildGo for tests: a build failure fails the test.
func MustBuildGo(t testing.TB, pkg string) string {
	t.Helper()
	p, err := BuildGo(pkg)
	if err != nil {
		t.Fatalf("QEMU rig: %v", err)
	}
	return p
}

// MustBuildGoTest is BuildGoTest for tests: a build failure fails the test.
func MustBuildGoTest(t testing.TB, pkg string) string {
	t.Helper()
	p, err := BuildGoTest(pkg)
	if err != nil {
		t.Fatalf("QEMU rig: %v", err)
	}
	return p
}

// ModuleRoot finds the directory of this module's go.mod from the current
// directory upwards (tests run in test/vm, the demo from anywhere inside).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the caamcrypt module (go env GOMOD is empty)")
	}
	return filepath.Dir(mod), nil
}
