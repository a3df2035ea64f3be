// Package cross checks caamcrypt's cgo bindings on the architectures of the
// i.MX parts it is for: the caamc tests are cross-compiled for 32-bit ARM
// (i.MX6/7, armhf) and arm64 (i.MX8) with Debian's cross compilers against
// a Debian sysroot (cgo-env.sh) and run under qemu-user. The whole
// caamcrypt binary is built the same way, by `make cross`, and checked
// (binary_test.go); Dockerfile.cross's build script is checked with an
// SDK-style environment file (sdk_test.go). The point is the ioctl struct: Go would lay out uint64
// with 4-byte alignment on 32-bit ARM (52 bytes), the kernel's C layout is
// 56 (docs/caam-abi.md §2); the layout test proves cgo's view matches C's
// there too.
//
// qemu-user cannot forward an ioctl it does not know (it answers ENOSYS),
// so the tests that issue the caam-keygen ioctl are skipped here; they run
// against the simulator in the QEMU system rig (test/vm).
package cross

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ioctlTests issue the real ioctl and need a kernel, not qemu-user.
const ioctlTests = "TestCreateIoctlFailureIsKernelError|TestImport$|TestTraceRedactsPlaintext"

func TestCaamcOnARM(t *testing.T) {
	for _, tg := range armTargets {
		t.Run(tg.goarch, func(t *testing.T) {
			require(t, crossTools...)
			// The Debian sysroot's toolchain environment (cgo-env.sh), as
			// for the whole binary: its GOCACHE is shared with make cross.
			file, env := debianEnv(t, tg.arch)
			bin := filepath.Join(t.TempDir(), "caamc.test")
			build := exec.Command("bash", "-c", `set -a; . "$1"; exec go test -c -o "$2" ../../caamc`, "_", file, bin)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("cross-compile caamc tests for %s: %v\n%s", tg.goarch, err, out)
			}
			run := exec.Command(tg.qemu, "-L", env["CAAMCRYPT_SYSROOT"], bin, "-test.v", "-test.skip", ioctlTests)
			out, err := run.CombinedOutput()
			if err != nil {
				t.Fatalf("caamc tests on %s under %s: %v\n%s", tg.goarch, tg.qemu, err, out)
			}
			passed := regexp.MustCompile(`(?m)^--- PASS: (\w+)`).FindAllStringSubmatch(string(out), -1)
			names := make([]string, 0, len(passed))
			for _, p := range passed {
				names = append(names, p[1])
			}
			joined := strings.Join(names, " ")
			if !strings.Contains(joined, "TestCmdLayoutMatchesFacts") || !strings.Contains(joined, "TestRequestNumbers") {
				t.Fatalf("layout tests did not pass on %s; passed: %s\n%s", tg.goarch, joined, out)
			}
			t.Logf("%s: %d caamc tests passed under %s, layout included", tg.goarch, len(names), tg.qemu)
		})
	}
}
