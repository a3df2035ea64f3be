package cross

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// buildScript is the one build path: the Makefile's cross targets and
// Dockerfile.cross both run it.
const buildScript = repoRoot + "/packaging/cross/build.sh"

// sdkEnvFile writes a stand-in for a Yocto SDK's environment-setup-<target>
// over the Debian sysroot: the variables an SDK's file exports (CC with
// --sysroot, CFLAGS, LDFLAGS, PKG_CONFIG_SYSROOT_DIR, PKG_CONFIG_PATH,
// STRIP; docs/caam-abi.md §11), and nothing Go-specific. The rpath-link
// is what Debian's multiarch library directory needs; an SDK's toolchain
// finds its sysroot's /usr/lib by itself.
func sdkEnvFile(t *testing.T, tg armTarget, sysroot, pkgConfigPath string) string {
	t.Helper()
	libdir := "$SDKTARGETSYSROOT/usr/lib/" + tg.triplet
	body := fmt.Sprintf(`# environment-setup-%[1]s: SDK-style test environment (packaging/cross/build.sh)
export SDKTARGETSYSROOT=%[2]s
export CC="%[1]s-gcc --sysroot=$SDKTARGETSYSROOT"
export CFLAGS=" -O2 -pipe -g -feliminate-unused-debug-types"
export LDFLAGS="-Wl,-O1 -Wl,--hash-style=gnu -Wl,--as-needed -Wl,-rpath-link,%[3]s"
export PKG_CONFIG_SYSROOT_DIR=$SDKTARGETSYSROOT
export PKG_CONFIG_PATH=%[4]s
export STRIP=%[1]s-strip
export OECORE_TARGET_OS=linux
`, tg.triplet, sysroot, libdir, pkgConfigPath)
	file := filepath.Join(t.TempDir(), "environment-setup-"+tg.triplet)
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestBuildScriptFromSDKEnvironment runs Dockerfile.cross's build step on an
// SDK-style environment file and checks the binaries it makes.
func TestBuildScriptFromSDKEnvironment(t *testing.T) {
	require(t, crossTools...)
	const version = "v9.8.7-sdk-test"
	for _, tg := range armTargets {
		t.Run(tg.arch, func(t *testing.T) {
			_, denv := debianEnv(t, tg.arch)
			sysroot := denv["CAAMCRYPT_SYSROOT"]
			file := sdkEnvFile(t, tg, sysroot, "$SDKTARGETSYSROOT/usr/lib/"+tg.triplet+"/pkgconfig:$SDKTARGETSYSROOT/usr/share/pkgconfig")
			out := filepath.Join(t.TempDir(), "caamcrypt-"+tg.arch)
			cmd := exec.Command(buildScript, file, tg.goarch, out)
			// An inherited GOCACHE must not be used (it may hold objects
			// built against another sysroot), nor CGO_LDFLAGS: the script
			// takes the toolchain from the environment file only.
			cmd.Env = append(os.Environ(), "VERSION="+version, "GOCACHE="+filepath.Join(t.TempDir(), "wrong-cache"),
				"CGO_LDFLAGS=-Wl,--no-such-linker-option")
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s %s %s: %v\n%s", buildScript, file, tg.goarch, err, b)
			} else {
				t.Logf("%s", b)
			}
			checkBinary(t, tg, out, sysroot, version)
			t.Run("stripped", func(t *testing.T) {
				checkBinary(t, tg, out+"-stripped", sysroot, version)
			})
		})
	}
}

// TestBuildScriptRefusesHostPkgConfig: an environment whose pkg-config path
// leads to the build machine's devmapper.pc must stop before compiling,
// not link against the host's library or fail obscurely in the linker.
func TestBuildScriptRefusesHostPkgConfig(t *testing.T) {
	require(t, crossTools...)
	hostPC, err := exec.Command("pkg-config", "--variable=pcfiledir", "devmapper").Output()
	if err != nil {
		t.Fatalf("the host's libdevmapper-dev is needed for this check: %v", err)
	}
	tg := armTargets[0]
	_, denv := debianEnv(t, tg.arch)
	file := sdkEnvFile(t, tg, denv["CAAMCRYPT_SYSROOT"], strings.TrimSpace(string(hostPC)))
	out := filepath.Join(t.TempDir(), "caamcrypt")
	b, err := exec.Command(buildScript, file, tg.goarch, out).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "devmapper.pc is not in the sysroot") {
		t.Fatalf("build.sh with the host's pkg-config path: err %v, output:\n%s", err, b)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("build.sh left %s behind: %v", out, err)
	}
	t.Logf("refused: %s", strings.TrimSpace(string(b)))
}
