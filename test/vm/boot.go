package vm

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Step is one shell command line run by busybox sh in the guest, with
// stdin from /dev/null and stdout+stderr captured together.
type Step struct {
	Name    string        // [A-Za-z0-9_.-], unique within the Boot
	Run     string        // shell text; may span lines
	Timeout time.Duration // guest-side limit (SIGKILL); default: the boot's timeout
	// MayFail lets the boot continue after a non-zero exit; by default the
	// first failing step ends the boot (later steps are reported as not run).
	MayFail bool
}

// Boot is one power-on of a Machine.
type Boot struct {
	// Cmdline is appended to the kernel command line, e.g. a simulated
	// device identity "caamsim.otpmk=..." (module parameters are applied
	// by /init when it insmods that module).
	Cmdline string
	Steps   []Step
	Timeout time.Duration // whole boot; default Config.Timeout
	// SharedSession runs every step inside one named session keyring, as
	// the commands of a login shell would be; without it each step starts
	// with no session keyring, like a process of a busybox init, and a key
	// a step adds to @s dies with that step (docs/caam-abi.md §6).
	SharedSession bool
	// PowerCut, when set, pulls the plug: QEMU is killed with SIGKILL
	// PowerCut.After the guest reports starting step PowerCut.Step (see
	// powercut.go). The steps after it never run; Result.PowerCut says
	// whether the step was still running when the plug was pulled.
	PowerCut *PowerCut
}

// baseCmdline: serial console (ttyS0, ARM: ttyAMA0; archSpec), no reboot
// loop on panic, quiet kernel so the console tail stays readable.
const baseCmdline = "console=%s panic=-1 quiet loglevel=4 rdinit=/init"

// EnvVerbose, when set, makes the guest kernel log everything with
// timestamps, to see where boot time goes.
const EnvVerbose = "CAAMCRYPT_VM_VERBOSE"

// withT binds a machine to a test so Boot can fail it on harness errors.
func (m *Machine) withT(t testing.TB) *Machine {
	m.t = t
	return m
}

// Boot runs a boot for a test: harness errors (QEMU does not start, image
// cannot be written) fail the test; step failures are in the Result (use
// Require / RequireAll).
func (m *Machine) Boot(b Boot) *Result {
	if m.t == nil {
		panic("vm: Boot needs a Machine from vm.New; use Run outside tests")
	}
	m.t.Helper()
	res, err := m.Run(b)
	if err != nil {
		m.t.Fatalf("QEMU rig: %v", err)
	}
	return res
}

// Run boots the machine, runs the steps and powers off. The error is for
// the harness itself; a timeout is reported in Result.TimedOut.
func (m *Machine) Run(b Boot) (*Result, error) {
	if b.Timeout == 0 {
		b.Timeout = m.cfg.Timeout
	}
	m.boots++
	bootDir := filepath.Join(m.dir, fmt.Sprintf("boot-%d", m.boots))
	if err := os.MkdirAll(bootDir, 0o755); err != nil {
		return nil, err
	}
	if err := m.writeBootLayer(b); err != nil {
		return nil, err
	}
	console := filepath.Join(bootDir, "console.log")
	results := filepath.Join(bootDir, "results.log")
	args, err := m.qemuArgs(b, console, results)
	if err != nil {
		return nil, err
	}
	if m.cfg.DiskCache == VolatileCache {
		if err := m.makeOverlays(bootDir); err != nil {
			return nil, err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), b.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, m.host.QEMU, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	var cut *cutWatch
	runErr := cmd.Start()
	if runErr == nil {
		if b.PowerCut != nil {
			cut = watchPowerCut(cmd.Process, results, b.PowerCut, b.Steps)
		}
		runErr = cmd.Wait()
	}
	wall := time.Since(start)
	dropped := 0
	if m.cfg.DiskCache == VolatileCache {
		if dropped, err = m.commitOverlays(bootDir); err != nil {
			return nil, fmt.Errorf("boot %d: %w", m.boots, err)
		}
	}

	res := &Result{Flavour: m.cfg.Flavour, Boot: m.boots, Wall: wall}
	res.TimedOut = ctx.Err() == context.DeadlineExceeded
	if cut != nil {
		res.PowerCut = cut.stop()
		res.PowerCut.Dropped = dropped
		if res.PowerCut.Cut {
			runErr = nil // our own SIGKILL, not a QEMU failure
		}
	}
	if cb, err := os.ReadFile(console); err == nil {
		res.Console = strings.ReplaceAll(string(cb), "\r", "")
	}
	rb, err := os.ReadFile(results)
	if err != nil && !res.TimedOut && (res.PowerCut == nil || !res.PowerCut.Cut) {
		return nil, fmt.Errorf("boot %d: no results from the guest: %v (qemu: %v %s)", m.boots, err, runErr, stderr.String())
	}
	parseResults(res, strings.ReplaceAll(string(rb), "\r", ""), b.Steps)
	if runErr != nil && !res.TimedOut {
		return nil, fmt.Errorf("boot %d: %s: %w: %s", m.boots, m.host.QEMU, runErr, strings.TrimSpace(stderr.String()))
	}
	m.logTiming(b, res)
	return res, nil
}

func (m *Machine) logTiming(b Boot, res *Result) {
	name := "?"
	if len(b.Steps) > 0 {
		name = b.Steps[0].Name
	}
	arch := ""
	if m.host.Arch != AMD64 {
		arch = " arch=" + string(m.host.Arch)
	}
	line := fmt.Sprintf("vm: boot %d%s flavour=%s steps=%d first=%s wall=%.2fs setup=%.2fs steps=%.2fs timedout=%v",
		res.Boot, arch, res.Flavour, len(b.Steps), name, res.Wall.Seconds(), res.SetupDone.Seconds(), res.StepsTime().Seconds(), res.TimedOut)
	m.cfg.Logf("%s", line)
	fmt.Fprintln(os.Stdout, line)
}

// qemuArgs builds the QEMU command line. TCG because KVM guests hang on the
// build machines (docs/caam-abi.md §12); on amd64 QEMU's default CPU model (-cpu max
// made boots about twice as slow under TCG here), on ARM the models of
// archSpec; the console on the first serial port, results on the arch's
// channel; -no-reboot so poweroff or a panic ends QEMU.
func (m *Machine) qemuArgs(b Boot, console, results string) ([]string, error) {
	spec, err := m.host.Arch.spec()
	if err != nil {
		return nil, err
	}
	cmdline := fmt.Sprintf(baseCmdline, spec.console)
	if spec.cmdline != "" {
		cmdline += " " + spec.cmdline
	}
	if os.Getenv(EnvVerbose) != "" {
		cmdline = strings.Replace(cmdline, "quiet loglevel=4", "loglevel=7 printk.time=1", 1)
	}
	if b.Cmdline != "" {
		cmdline += " " + b.Cmdline
	}
	args := append([]string{"-accel", "tcg"}, spec.machine...)
	if m.cfg.CPUModel != "" {
		args = append(args, "-cpu", m.cfg.CPUModel) // QEMU takes the last -cpu
	}
	args = append(args,
		"-m", strconv.Itoa(m.cfg.MemoryMiB), "-smp", strconv.Itoa(m.cfg.CPUs),
		"-nodefaults", "-no-user-config", "-display", "none", "-vga", "none", "-no-reboot",
		"-kernel", m.kernel, "-initrd", m.initrd, "-append", cmdline,
		"-serial", "file:"+console)
	args = append(args, spec.resultsDev(results)...)
	for i, d := range m.cfg.Disks {
		throttle := ""
		if d.BytesPerSec > 0 {
			throttle = fmt.Sprintf(",throttling.bps-total=%d", d.BytesPerSec)
		}
		file, format, cache := m.DiskPath(d.Name), "raw", m.cfg.DiskCache
		switch cache {
		case "":
			cache = "unsafe"
		case VolatileCache:
			file, format, cache = overlayPath(filepath.Dir(console), d.Name), "qcow2", "writeback"
		}
		args = append(args,
			"-drive", fmt.Sprintf("file=%s,if=none,id=disk%d,format=%s,cache=%s%s", file, i, format, cache, throttle),
			"-device", fmt.Sprintf("virtio-blk-pci,drive=disk%d,serial=%s", i, d.Name))
	}
	return args, nil
}

// writeBootLayer truncates the initrd back to base + machine layer and
// appends this boot's steps as a third archive.
func (m *Machine) writeBootLayer(b Boot) error {
	if len(b.Steps) == 0 {
		return errors.New("a boot needs at least one step")
	}
	l := newLayer()
	var list strings.Builder
	seen := map[string]bool{}
	for i, s := range b.Steps {
		if !nameRE.MatchString(s.Name) || seen[s.Name] || s.Name == setupStep {
			return fmt.Errorf("step name %q: must be unique and match %s", s.Name, nameRE)
		}
		seen[s.Name] = true
		to := s.Timeout
		if to == 0 {
			to = b.Timeout
		}
		mayFail := 0
		if s.MayFail {
			mayFail = 1
		}
		session := 0
		if b.SharedSession {
			session = 1
		}
		fmt.Fprintf(&list, "%d %s %d %d %d\n", i+1, s.Name, int((to+time.Second-1)/time.Second), mayFail, session)
		l.addData(fmt.Sprintf(guestStepScript, i+1), []byte(s.Run+"\n"), 0o755)
	}
	l.addData(guestStepsList, []byte(list.String()), 0o644)
	f, err := os.OpenFile(m.initrd, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(m.prefix); err != nil {
		return err
	}
	if _, err := f.Seek(m.prefix, 0); err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := l.writeTo(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}
