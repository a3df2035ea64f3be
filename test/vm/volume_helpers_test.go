package vm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/header"
)

// Helpers for the caamcrypt volume scenarios (volume_test.go): the real
// caamcrypt binary and the CAAM simulator in the guest.

// volStep is a guest step with the exit code it must end with. Every step
// runs (MayFail) so one boot reports every failure, not just the first.
type volStep struct {
	name string
	run  string
	want int
}

// volRun boots m with steps and checks each exit code; it returns the
// result and logs the boot's timing.
func volRun(t *testing.T, m *Machine, cmdline string, steps []volStep) *Result {
	t.Helper()
	return volRunTimeout(t, m, cmdline, steps, 8*time.Minute)
}

// volRunLong is volRun for a long boot without kernel parameters.
func volRunLong(t *testing.T, m *Machine, steps []volStep, timeout time.Duration) *Result {
	t.Helper()
	return volRunTimeout(t, m, "", steps, timeout)
}

// volRunTimeout is volRun with the boot's timeout.
func volRunTimeout(t *testing.T, m *Machine, cmdline string, steps []volStep, timeout time.Duration) *Result {
	t.Helper()
	start := time.Now()
	res := m.Boot(Boot{Cmdline: cmdline, Steps: volBootSteps(steps), Timeout: timeout})
	t.Logf("TIMING %s boot %d: wall %s, steps %s", m.Flavour(), res.Boot, time.Since(start).Round(100*time.Millisecond),
		res.StepsTime().Round(100*time.Millisecond))
	volCheck(t, m, res, steps)
	return res
}

// volBootSteps are the guest steps of volSteps, each allowed to fail.
func volBootSteps(steps []volStep) []Step {
	var bs []Step
	for _, s := range steps {
		bs = append(bs, Step{Name: s.name, Run: s.run, MayFail: true})
	}
	return bs
}

// volCheck checks each volStep's exit code in a boot's result (which may
// hold other steps too).
func volCheck(t *testing.T, m *Machine, res *Result, steps []volStep) {
	t.Helper()
	if !res.Setup.Done || res.Setup.ExitCode != 0 {
		t.Fatal(res.stepError(&res.Setup))
	}
	for _, s := range steps {
		r := res.Step(s.name)
		if os.Getenv("CAAMCRYPT_VM_STEPLOG") != "" && r != nil {
			t.Logf("step %s rc=%d %s:\n%s", s.name, r.ExitCode, r.Duration.Round(time.Millisecond), r.Output)
		}
		if r == nil || !r.Done || r.ExitCode != s.want {
			code := -1
			out := ""
			if r != nil {
				code, out = r.ExitCode, r.Output
			}
			t.Errorf("%s boot %d: step %s: exit %d, want %d\n[command]\n%s\n[output]\n%s",
				m.Flavour(), res.Boot, s.name, code, s.want, s.run, out)
		}
	}
	if res.TimedOut {
		t.Fatalf("boot timed out; console tail:\n%s", res.ConsoleTail(40))
	}
}

// out returns a step's output ("" when it did not run).
func volOut(res *Result, name string) string {
	if s := res.Step(name); s != nil {
		return s.Output
	}
	return ""
}

// volDiskSum is the SHA-256 of a disk image on the host.
func volDiskSum(t *testing.T, m *Machine, disk string) string {
	t.Helper()
	s := sha256.Sum256(m.RawDisk(t, disk))
	return hex.EncodeToString(s[:])
}

// volEditHeader rewrites the caamcrypt header of a disk image on the host
// (both copies, with a valid checksum) after edit changed it.
func volEditHeader(t *testing.T, m *Machine, disk string, edit func(h *header.Header)) {
	t.Helper()
	f, err := os.OpenFile(m.DiskPath(disk), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, _, err := header.Read(f)
	if err != nil {
		t.Fatalf("header of %s: %v", disk, err)
	}
	edit(h)
	if err := header.Write(f, h); err != nil {
		t.Fatalf("rewrite header of %s: %v", disk, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// volReadHeader reads the caamcrypt header of a disk image on the host.
func volReadHeader(t *testing.T, m *Machine, disk string) *header.Header {
	t.Helper()
	f, err := os.Open(m.DiskPath(disk))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, _, err := header.Read(f)
	if err != nil {
		t.Fatalf("header of %s: %v", disk, err)
	}
	return h
}

// volSysvScript is the SysV init script from packaging/.
func volSysvScript(t *testing.T) []byte {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "packaging", "sysv", "caamcrypt"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// volNothingMapped is shell that prints the device-mapper list and fails when
// any mapping exists.
const volNothingMapped = `l=$(dmsetup ls); echo "dmsetup ls: $l"; case "$l" in *"No devices found"*) ;; *) exit 1 ;; esac`

// volNoCaamKeys is shell that fails when a caamcrypt key is left in /proc/keys.
const volNoCaamKeys = `if grep caamcrypt: /proc/keys; then echo "leftover keys"; exit 1; fi`

// q quotes a marker for the guest shell (markers are hex, so plain quotes do).
func volQ(s string) string { return fmt.Sprintf("'%s'", s) }

// volUnchanged is shell that runs cmd and exits with its code, but with 99
// when the SHA-256 of dev changed meanwhile (a refused open must not write).
func volUnchanged(dev, cmd string) string {
	return fmt.Sprintf("s1=$(sha256sum %s); %s; rc=$?; s2=$(sha256sum %s); echo \"sha256 before ${s1%%%% *} after ${s2%%%% *}\"\n"+
		"[ \"$s1\" = \"$s2\" ] || exit 99; exit $rc", dev, cmd, dev)
}

// volFlipByte is shell that flips one bit of the byte at off on dev.
func volFlipByte(dev string, off int) string {
	return fmt.Sprintf("b=$(dd if=%s bs=1 skip=%d count=1 2>/dev/null | od -An -tu1 | tr -d ' '); "+
		"printf \"\\\\$(printf %%o $((b ^ 1)))\" | dd of=%s bs=1 seek=%d count=1 conv=notrunc 2>/dev/null && sync && "+
		"echo \"flipped byte %d of %s: $b\"", dev, off, dev, off, off, dev)
}
