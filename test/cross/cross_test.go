// Package cross checks caamcrypt's cgo bindings on the architectures of the
// i.MX parts it is for: the caamc tests are cross-compiled for 32-bit ARM
// (i.MX6/7, armhf) and arm64 (i.MX8) with Debian's cross compilers and run
// under qemu-user. The point is the ioctl struct: Go would lay out uint64
// with 4-byte alignment on 32-bit ARM (52 bytes), the kernel's C layout is
// 56 (caam-facts section 2); the layout test proves cgo's view matches C's
// there too.
//
// qemu-user cannot forward an ioctl it does not know (it answers ENOSYS),
// so the tests that issue the caam-keygen ioctl are skipped here; they run
// against the simulator in the QEMU system rig (test/vm).
package cross

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// ioctlTests issue the real ioctl and need a kernel, not qemu-user.
const ioctlTests = "TestCreateIoctlFailureIsKernelError|TestImport$|TestTraceRedactsPlaintext"

type target struct {
	goarch, goarm, cc, qemu, sysroot string
}

var targets = []target{
	{"arm", "7", "arm-linux-gnueabihf-gcc", "qemu-arm", "/usr/arm-linux-gnueabihf"},
	{"arm64", "", "aarch64-linux-gnu-gcc", "qemu-aarch64", "/usr/aarch64-linux-gnu"},
}

// require skips when a tool is missing, or fails when CAAMCRYPT_CROSS is
// "required" (make test), so CI cannot pass by skipping.
func require(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CAAMCRYPT_CROSS") == "required" {
			t.Fatalf("%s is missing (install gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu qemu-user)", tool)
		}
		t.Skipf("needs %s on PATH", tool)
	}
}

func TestCaamcOnARM(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.goarch, func(t *testing.T) {
			require(t, tg.cc)
			require(t, tg.qemu)
			bin := filepath.Join(t.TempDir(), "caamc.test")
			build := exec.Command("go", "test", "-c", "-o", bin, "../../caamc")
			build.Env = append(os.Environ(), "CGO_ENABLED=1", "GOOS=linux", "GOARCH="+tg.goarch, "GOARM="+tg.goarm, "CC="+tg.cc)
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("cross-compile caamc tests for %s: %v\n%s", tg.goarch, err, out)
			}
			run := exec.Command(tg.qemu, "-L", tg.sysroot, bin, "-test.v", "-test.skip", ioctlTests)
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
