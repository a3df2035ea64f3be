package vm

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Arch is the guest's architecture. AMD64 boots the host's own Debian
// kernel and copies the host's tools; the ARM ones boot Debian's arm64 or
// armhf kernel under TCG with a userland from that architecture's .debs
// (test/vm/armguest.sh), the targets caamcrypt exists for (i.MX8/9: arm64,
// i.MX6/7: 32-bit ARM).
type Arch string

const (
	AMD64 Arch = "amd64" // the default (Config.Arch empty)
	ARM64 Arch = "arm64"
	ARMHF Arch = "armhf"
)

// ARMArches are the ARM guests, in the order tests run them.
var ARMArches = []Arch{ARM64, ARMHF}

// archSpec is how QEMU and the image differ per architecture.
type archSpec struct {
	qemu    string   // QEMU system emulator
	machine []string // machine and CPU
	// console is the kernel console; results is the guest device the step
	// results go to (see init.go), and resultsDev the QEMU arguments that
	// make it a host file.
	console, results string
	resultsDev       func(path string) []string
	// earlyModules are loaded before the results channel is opened (the
	// channel's driver).
	earlyModules []string
	libDirs      []string // the dynamic loader's search path
	cmdline      string   // added to every boot's kernel command line
	goarch       string   // GOARCH of guest binaries
}

// specs: -M virt has a single PL011 UART (the console), so ARM guests send
// step results through a virtio console (hvc0) on the PCIe bus, the same
// bus as the disks; Debian builds virtio_pci and virtio_console as modules.
// CPUs per docs/caam-abi.md §12: cortex-a57 boots arm64 in about 4 s where
// -cpu max takes about 21 s (pointer-authentication emulation); armmp
// kernels are not LPAE, so the PCIe window must stay below 4 GiB
// (highmem=off).
var specs = map[Arch]archSpec{
	AMD64: {
		qemu: "qemu-system-x86_64", machine: []string{"-machine", "pc"},
		console: "ttyS0", results: "ttyS1",
		// Under heavy TCG load Debian's kernel hung or panicked in its
		// IO-APIC timer check ("IO-APIC + timer doesn't work!") before
		// /init; no_timer_check skips that check, meant for virtual machines.
		cmdline:    "no_timer_check",
		resultsDev: func(p string) []string { return []string{"-serial", "file:" + p} },
		libDirs: []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
			"/lib64", "/usr/lib64", "/lib", "/usr/lib"},
		goarch: "amd64",
	},
	ARM64: {
		qemu: "qemu-system-aarch64", machine: []string{"-machine", "virt", "-cpu", "cortex-a57"},
		console: "ttyAMA0", results: "hvc0", resultsDev: virtconsole,
		earlyModules: []string{"virtio_pci", "virtio_console"},
		libDirs:      []string{"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib", "/usr/lib"},
		goarch:       "arm64",
	},
	ARMHF: {
		qemu: "qemu-system-arm", machine: []string{"-machine", "virt,highmem=off", "-cpu", "cortex-a15"},
		console: "ttyAMA0", results: "hvc0", resultsDev: virtconsole,
		earlyModules: []string{"virtio_pci", "virtio_console"},
		libDirs:      []string{"/lib/arm-linux-gnueabihf", "/usr/lib/arm-linux-gnueabihf", "/lib", "/usr/lib"},
		goarch:       "arm",
	},
}

func virtconsole(p string) []string {
	return []string{"-device", "virtio-serial-pci", "-chardev", "file,id=results,path=" + p,
		"-device", "virtconsole,chardev=results"}
}

func (a Arch) spec() (archSpec, error) {
	s, ok := specs[a]
	if !ok {
		return archSpec{}, fmt.Errorf("unknown guest architecture %q", a)
	}
	return s, nil
}

var (
	armMu    sync.Mutex
	armHosts = map[Arch]*Host{}
	armErrs  = map[Arch]error{}
)

// armHost prepares an ARM guest once per process with test/vm/armguest.sh
// (downloads on the first run, then cached; it also cross-builds caamsim
// for that kernel) and describes it as a Host whose files live under Root.
func armHost(a Arch) (*Host, error) {
	armMu.Lock()
	defer armMu.Unlock()
	if h, ok := armHosts[a]; ok {
		return h, armErrs[a]
	}
	h, err := findARMHost(a)
	armHosts[a], armErrs[a] = h, err
	return h, err
}

func findARMHost(a Arch) (*Host, error) {
	s, err := a.spec()
	if err != nil {
		return nil, err
	}
	qemu, err := exec.LookPath(s.qemu)
	if err != nil {
		return nil, fmt.Errorf("%s guest: %s missing (apt install qemu-system-arm)", a, s.qemu)
	}
	// The applet list comes from the host's busybox: the ARM one cannot run
	// here, and Debian builds busybox-static with one configuration for all
	// architectures.
	bbList, err := findBusybox()
	if err != nil {
		return nil, fmt.Errorf("%s guest: the host's busybox lists the applets: %w (apt install busybox-static)", a, err)
	}
	root, err := ModuleRoot()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("bash", filepath.Join(root, "test", "vm", "armguest.sh"), string(a))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s guest: test/vm/armguest.sh: %w\n%s", a, err, stderr.String())
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	for _, k := range []string{"root", "kernel", "kver", "caamsim"} {
		if kv[k] == "" {
			return nil, fmt.Errorf("%s guest: test/vm/armguest.sh printed no %s=", a, k)
		}
	}
	return &Host{
		Arch: a, Root: kv["root"], QEMU: qemu, Kernel: kv["kernel"], KernelVersion: kv["kver"],
		ModulesDir: filepath.Join(kv["root"], "lib", "modules", kv["kver"]),
		Busybox:    filepath.Join(kv["root"], "usr", "bin", "busybox"), BusyboxList: bbList,
		Caamsim: kv["caamsim"],
	}, nil
}
