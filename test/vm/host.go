package vm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Host describes what the build host provides to the rig: the QEMU binary,
// the kernel image and its module tree, and the tools copied into guests.
type Host struct {
	Arch Arch
	// Root is the host directory standing for the guest's / when the
	// guest's files are not the host's own (ARM guests: a Debian tree of
	// that architecture); "" for the amd64 guest.
	Root          string
	QEMU          string // qemu-system-x86_64
	Kernel        string // /boot/vmlinuz-<version>
	KernelVersion string // <version>
	ModulesDir    string // host path of the module tree: /lib/modules/<version> (under Root for ARM)
	Busybox       string // a static busybox
	// BusyboxList is the busybox asked for the applet list ("" = Busybox):
	// an ARM busybox cannot run on the host.
	BusyboxList string
	// Caamsim is the CAAM simulator built for this kernel (ARM guests;
	// the amd64 one is test/caamsim/caamsim.ko from `make caamsim`).
	Caamsim string
}

// hostPath is where the host keeps the guest's file p.
func (h *Host) hostPath(p string) string {
	if h.Root == "" {
		return p
	}
	return filepath.Join(h.Root, p)
}

// guestModulesDir is the module tree's path inside the guest.
func (h *Host) guestModulesDir() string { return "/lib/modules/" + h.KernelVersion }

// Environment overrides, for machines laid out differently.
const (
	EnvKernel  = "CAAMCRYPT_VM_KERNEL"  // path of a vmlinuz whose modules are in /lib/modules/<version>
	EnvQEMU    = "CAAMCRYPT_VM_QEMU"    // qemu-system-x86_64 binary
	EnvBusybox = "CAAMCRYPT_VM_BUSYBOX" // static busybox binary
	EnvCache   = "CAAMCRYPT_VM_CACHE"   // cache directory for base images and guest binaries
)

// FindHost locates QEMU, the newest installed Debian -amd64 kernel that has
// a module tree, and a static busybox. The error names everything missing
// and the Debian packages that provide it.
func FindHost() (*Host, error) {
	h := &Host{Arch: AMD64}
	var missing []string
	if p, err := lookPathEnv(EnvQEMU, "qemu-system-x86_64"); err == nil {
		h.QEMU = p
	} else {
		missing = append(missing, "qemu-system-x86_64 (apt install qemu-system-x86)")
	}
	if k, v, err := findKernel(); err == nil {
		h.Kernel, h.KernelVersion, h.ModulesDir = k, v, filepath.Join("/lib/modules", v)
	} else {
		missing = append(missing, fmt.Sprintf("kernel: %v (apt install linux-image-amd64)", err))
	}
	if p, err := findBusybox(); err == nil {
		h.Busybox = p
	} else {
		missing = append(missing, "static busybox (apt install busybox-static)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("QEMU rig prerequisites missing: %s", strings.Join(missing, "; "))
	}
	return h, nil
}

func lookPathEnv(env, name string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return exec.LookPath(p)
	}
	return exec.LookPath(name)
}

// findKernel picks $CAAMCRYPT_VM_KERNEL, or the newest /boot/vmlinuz-*-amd64
// whose /lib/modules/<version>/modules.dep exists.
func findKernel() (path, version string, err error) {
	if p := os.Getenv(EnvKernel); p != "" {
		v := strings.TrimPrefix(filepath.Base(p), "vmlinuz-")
		if _, err := os.Stat(filepath.Join("/lib/modules", v, "modules.dep")); err != nil {
			return "", "", fmt.Errorf("%s=%s: no module tree for %s: %w", EnvKernel, p, v, err)
		}
		return p, v, nil
	}
	cands, _ := filepath.Glob("/boot/vmlinuz-*-amd64")
	var ok []string
	for _, c := range cands {
		v := strings.TrimPrefix(filepath.Base(c), "vmlinuz-")
		if _, err := os.Stat(filepath.Join("/lib/modules", v, "modules.dep")); err == nil {
			if f, err := os.Open(c); err == nil { // must be readable
				f.Close()
				ok = append(ok, v)
			}
		}
	}
	if len(ok) == 0 {
		return "", "", fmt.Errorf("no readable /boot/vmlinuz-*-amd64 with a /lib/modules tree")
	}
	sort.Slice(ok, func(i, j int) bool { return versionLess(ok[i], ok[j]) })
	v := ok[len(ok)-1]
	return "/boot/vmlinuz-" + v, v, nil
}

// versionLess compares kernel version strings numerically field by field
// ("6.1.0-10" < "6.1.0-9" as strings, but not as versions).
func versionLess(a, b string) bool {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' || r == '+' })
	}
	fa, fb := split(a), split(b)
	for i := 0; i < len(fa) && i < len(fb); i++ {
		na, ea := strconv.Atoi(fa[i])
		nb, eb := strconv.Atoi(fb[i])
		switch {
		case ea == nil && eb == nil && na != nb:
			return na < nb
		case (ea != nil || eb != nil) && fa[i] != fb[i]:
			return fa[i] < fb[i]
		}
	}
	return len(fa) < len(fb)
}

// findBusybox prefers Debian's busybox-static locations; a dynamically
// linked busybox would also work (its libraries get copied) but the static
// one keeps the image independent of libc.
func findBusybox() (string, error) {
	if p := os.Getenv(EnvBusybox); p != "" {
		return p, nil
	}
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("busybox")
}

// cacheDir is where base images and guest binaries are kept between runs:
// $CAAMCRYPT_VM_CACHE, else $XDG_CACHE_HOME/caamcrypt-vm, else
// ~/.cache/caamcrypt-vm, else /tmp/caamcrypt-vm-<uid>.
func cacheDir() (string, error) {
	dir := os.Getenv(EnvCache)
	if dir == "" {
		if base, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(base, "caamcrypt-vm")
		} else {
			dir = filepath.Join(os.TempDir(), fmt.Sprintf("caamcrypt-vm-%d", os.Getuid()))
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("QEMU rig cache directory: %w", err)
	}
	return dir, nil
}
