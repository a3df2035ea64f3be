package vm

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// DiskSpec is a persistent raw disk attached as virtio-blk. Disks appear in
// the guest as /dev/vda, /dev/vdb, ... in Config.Disks order (see
// GuestDevice) and carry their Name as virtio serial number, so with udev
// they also appear as /dev/disk/by-id/virtio-<Name>.
type DiskSpec struct {
	Name    string // [A-Za-z0-9_-], unique in the Config
	SizeMiB int    // sparse file of this size
	// BytesPerSec, if set, caps the disk's throughput (QEMU block
	// throttling, reads and writes together), e.g. to stand for an SD card.
	BytesPerSec int64
}

// Module is an out-of-tree kernel module loaded after BaseModules, with
// insmod parameters. Per-boot parameters can also be given on the kernel
// command line as "<module>.<param>=<value>" (Boot.Cmdline).
type Module struct {
	Path   string // host path of the .ko
	Params string // e.g. "otpmk=00112233..."
}

// Config describes a guest machine.
type Config struct {
	Flavour      Flavour
	Disks        []DiskSpec
	Binaries     map[string]string // guest path -> host path; ELF libraries are added
	Files        map[string][]byte // guest path -> content (mode 0644; 0755 under */bin/)
	ExtraModules []Module
	// Arch is the guest's architecture; default AMD64. ARM guests need
	// ARM binaries (BuildGoFor) and their caamsim (CaamsimModuleFor).
	Arch      Arch
	MemoryMiB int           // default 512
	CPUs      int           // default 1
	Timeout   time.Duration // default per-boot timeout; default 120s
	// CPUModel is QEMU's -cpu for the guest (default: QEMU's for the arch),
	// e.g. "qemu64,+aes" for AES-NI under TCG (bench_throughput_test.go).
	CPUModel string
	// DiskCache is QEMU's cache mode for every disk; default "unsafe"
	// (guest flushes ignored: the rig's disks are scratch files). See
	// powercut.go for what a mode changes when QEMU is killed, and
	// VolatileCache (volatile.go) for disks whose unflushed writes a
	// kill may lose.
	DiskCache string
	// Logf receives progress and timing lines; New sets it to t.Logf.
	Logf func(format string, args ...any)
}

// Machine is one guest: its image and its disks, which persist across
// Boot calls.
type Machine struct {
	cfg    Config
	host   *Host
	dir    string
	kernel string // what QEMU boots (see bootKernel)
	initrd string // base + machine layer; each boot appends its own layer
	prefix int64  // length of base + machine layer in initrd
	boots  int
	t      testing.TB // set by New; nil for NewMachine
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// New creates a Machine for a test: it gates on CAAMCRYPT_VM (see
// RequireVM), keeps its files in t.TempDir(), logs through t.Logf, and
// fails the test if the image cannot be built.
func New(t testing.TB, cfg Config) *Machine {
	t.Helper()
	RequireArch(t, cfg.Arch)
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	m, err := NewMachine(cfg, t.TempDir())
	if err != nil {
		t.Fatalf("QEMU rig: %v", err)
	}
	return m.withT(t)
}

// NewMachine creates a Machine outside a test (the demo): dir holds the
// disks and the image and is the caller's to remove.
func NewMachine(cfg Config, dir string) (*Machine, error) {
	h, err := hostFor(cfg.Arch)
	if err != nil {
		return nil, err
	}
	if cfg.Flavour == "" {
		cfg.Flavour = NoUdev
	}
	if cfg.Flavour != NoUdev && cfg.Flavour != Udev {
		return nil, fmt.Errorf("unknown flavour %q", cfg.Flavour)
	}
	if cfg.MemoryMiB == 0 {
		cfg.MemoryMiB = 512
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 1
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 120 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	m := &Machine{cfg: cfg, host: h, dir: dir}
	if err := m.createDisks(); err != nil {
		return nil, err
	}
	start := time.Now()
	m.kernel = h.Kernel
	if h.Arch == AMD64 {
		m.kernel = bootKernel(h, cfg.Logf)
	}
	if err := m.buildImage(); err != nil {
		return nil, err
	}
	cfg.Logf("vm: %s image for %s ready in %.2fs (kernel %s)", h.Arch, cfg.Flavour, time.Since(start).Seconds(), m.kernel)
	return m, nil
}

// Arch returns the machine's architecture.
func (m *Machine) Arch() Arch { return m.host.Arch }

// Flavour returns the machine's flavour.
func (m *Machine) Flavour() Flavour { return m.cfg.Flavour }

func (m *Machine) createDisks() error {
	if len(m.cfg.Disks) > 26 {
		return fmt.Errorf("at most 26 disks")
	}
	seen := map[string]bool{}
	for _, d := range m.cfg.Disks {
		if !nameRE.MatchString(d.Name) || seen[d.Name] {
			return fmt.Errorf("disk name %q: must be unique and match %s", d.Name, nameRE)
		}
		seen[d.Name] = true
		if d.SizeMiB <= 0 {
			return fmt.Errorf("disk %s: size must be positive", d.Name)
		}
		f, err := os.OpenFile(m.DiskPath(d.Name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("create disk %s: %w", d.Name, err)
		}
		err = f.Truncate(int64(d.SizeMiB) << 20)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("create disk %s: %w", d.Name, err)
		}
	}
	return nil
}

// DiskPath is the host path of a disk's raw image, for the host test to
// inspect between or after boots.
func (m *Machine) DiskPath(name string) string {
	return filepath.Join(m.dir, "disk-"+name+".img")
}

// GuestDevice is the guest block device of a disk: /dev/vda for the first
// in Config.Disks, /dev/vdb for the second, and so on (virtio-blk names
// devices in PCI probe order, which follows the -drive order).
func (m *Machine) GuestDevice(name string) string {
	for i, d := range m.cfg.Disks {
		if d.Name == name {
			return "/dev/vd" + string(rune('a'+i))
		}
	}
	panic(fmt.Sprintf("vm: no disk named %q in Config.Disks", name))
}

// buildImage writes base + machine layer into the machine's initrd file.
func (m *Machine) buildImage() error {
	base, err := baseImage(m.host, m.cfg.Flavour)
	if err != nil {
		return err
	}
	l := newLayer()
	var elfs []string
	for guest, host := range m.cfg.Binaries {
		if _, err := os.Stat(host); err != nil {
			return fmt.Errorf("binary for %s: %w", guest, err)
		}
		l.addFile(guest, host, 0o755)
		elfs = append(elfs, host)
	}
	libs, err := elfClosure(m.host, elfs...)
	if err != nil {
		return err
	}
	for guest, host := range libs {
		if !l.has(guest) {
			l.addFile(guest, host, 0o755)
		}
	}
	for guest, data := range m.cfg.Files {
		mode := uint32(0o644)
		if strings.Contains(guest, "/bin/") {
			mode = 0o755
		}
		l.addData(guest, data, mode)
	}
	var list strings.Builder
	for _, mod := range m.cfg.ExtraModules {
		b, err := readModule(mod.Path)
		if err != nil {
			return fmt.Errorf("extra module: %w", err)
		}
		name := strings.TrimSuffix(filepath.Base(mod.Path), filepath.Ext(mod.Path))
		name = strings.TrimSuffix(name, ".ko")
		guest := filepath.Join(m.host.guestModulesDir(), "extra", name+".ko")
		l.addData(guest, b, 0o644)
		fmt.Fprintf(&list, "%s %s\n", guest, mod.Params)
	}
	l.addData(guestExtraModules, []byte(list.String()), 0o644)

	m.initrd = filepath.Join(m.dir, "initrd.cpio")
	f, err := os.Create(m.initrd)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := appendFile(f, base); err != nil {
		return fmt.Errorf("copy base image: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := l.writeTo(bw); err != nil {
		return fmt.Errorf("machine layer: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	m.prefix, err = f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	return f.Close()
}
