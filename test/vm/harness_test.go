package vm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestHarnessSmoke boots each flavour with a trivial scenario: a step's
// output and exit code come back, per-step splitting holds with output
// lacking a final newline, and MayFail lets a boot continue.
func TestHarnessSmoke(t *testing.T) {
	for _, f := range Flavours {
		t.Run(string(f), func(t *testing.T) {
			m := New(t, Config{Flavour: f, Disks: []DiskSpec{{Name: "scratch", SizeMiB: 8}}})
			res := m.Boot(Boot{
				// loop.max_part: /init applies "<module>.<param>=" words of the
				// command line when it insmods that module, like modprobe.
				Cmdline: "vmtest.marker=hello loop.max_part=7",
				Steps: []Step{
					{Name: "uname", Run: "uname -r"},
					{Name: "nonewline", Run: "printf 'a\\nb'"},
					{Name: "soft-fail", Run: "echo soft; exit 7", MayFail: true},
					{Name: "cmdline", Run: "grep -o 'vmtest.marker=hello' /proc/cmdline"},
					{Name: "disk", Run: "blockdev --getsize64 " + m.GuestDevice("scratch")},
					{Name: "modparam", Run: "cat /sys/module/loop/parameters/max_part"},
					{Name: "modules", Run: "grep -E '^(dm_crypt|dm_mod|ext4|virtio_blk) ' /proc/modules | wc -l"},
				},
			})
			res.Require(t, "uname", "nonewline", "cmdline", "disk", "modparam", "modules")
			if got := strings.TrimSpace(res.Step("modparam").Output); got != "7" {
				t.Errorf("loop.max_part from the kernel command line: got %q, want 7", got)
			}
			if got := res.Step("uname").Output; !strings.Contains(got, m.host.KernelVersion) {
				t.Errorf("uname output %q does not name kernel %s", got, m.host.KernelVersion)
			}
			if got := res.Step("nonewline").Output; got != "a\nb" {
				t.Errorf("output without final newline: got %q, want %q", got, "a\nb")
			}
			s := res.RequireExit(t, "soft-fail", 7)
			if s.Output != "soft\n" {
				t.Errorf("soft-fail output %q, want %q", s.Output, "soft\n")
			}
			if got := strings.TrimSpace(res.Step("disk").Output); got != "8388608" {
				t.Errorf("disk size in guest %q, want 8388608", got)
			}
			if got := strings.TrimSpace(res.Step("modules").Output); got != "4" {
				t.Errorf("expected 4 base modules loaded, got %s", got)
			}
			if !res.Finished {
				t.Errorf("guest did not reach the end of its step list")
			}
		})
	}
}

// TestHarnessReportsFailingStep is the harness's self-test: a deliberately
// failing step must produce a report naming the step and its exit code,
// with the console tail; later steps must not run.
func TestHarnessReportsFailingStep(t *testing.T) {
	m := New(t, Config{Flavour: NoUdev})
	res := m.Boot(Boot{Steps: []Step{
		{Name: "fine", Run: "echo fine"},
		{Name: "broken-on-purpose", Run: "echo about to fail; exit 3"},
		{Name: "after", Run: "echo must not run"},
	}})
	err := res.Check()
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("Check() = %v, want a *StepError", err)
	}
	if se.Step != "broken-on-purpose" || se.ExitCode != 3 {
		t.Errorf("report names step %q exit %d, want broken-on-purpose exit 3", se.Step, se.ExitCode)
	}
	msg := err.Error()
	t.Logf("the harness's report for a deliberately failing step:\n%s", msg)
	for _, want := range []string{`"broken-on-purpose"`, "exit code 3", "about to fail", "echo about to fail; exit 3", "[console tail]", "vm step 2 broken-on-purpose: exit 3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure report lacks %q:\n%s", want, msg)
		}
	}
	if s := res.Step("after"); s.Started {
		t.Errorf("step after a failure ran: %+v", s)
	}
	if err := res.Check("fine"); err != nil {
		t.Errorf("Check(fine) = %v, want nil", err)
	}
}

// TestHarnessTimeout: a hanging step is cut off by the boot timeout and the
// steps before it are still reported.
func TestHarnessTimeout(t *testing.T) {
	m := New(t, Config{Flavour: NoUdev})
	res := m.Boot(Boot{Timeout: 30 * time.Second, Steps: []Step{
		{Name: "before", Run: "echo done-before"},
		{Name: "hang", Run: "echo hanging; sleep 1000"},
	}})
	if !res.TimedOut {
		t.Fatalf("boot did not time out")
	}
	if err := res.Check("before"); err != nil {
		t.Errorf("step before the hang: %v", err)
	}
	err := res.Check("hang")
	if err == nil || !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), "hanging") {
		t.Errorf("hang report = %v, want a timeout report with the partial output", err)
	}
}

// TestExtraModule loads an out-of-tree module through Config.ExtraModules:
// the CAAM simulator, which must then offer /dev/caam-keygen and the tk()
// ciphers (docs/caam-abi.md §4).
func TestExtraModule(t *testing.T) {
	RequireVM(t)
	m := New(t, Config{Flavour: NoUdev, ExtraModules: []Module{CaamsimModule(t, "")}})
	res := m.Boot(Boot{Steps: []Step{
		{Name: "loaded", Run: "grep -q '^caamsim ' /proc/modules"},
		{Name: "node", Run: "test -c /dev/caam-keygen"},
		{Name: "ciphers", Run: "grep -E '^name *: tk\\((cbc|ecb)\\(aes\\)\\)' /proc/crypto | sort"},
	}})
	res.Require(t)
	if got := res.Step("ciphers").Output; !strings.Contains(got, "tk(cbc(aes))") || !strings.Contains(got, "tk(ecb(aes))") {
		t.Errorf("tk ciphers missing from /proc/crypto:\n%s", got)
	}
}

// TestCaamcryptRunsInGuest: the product binary, built with cgo against
// libdevmapper, starts in the guest with the libraries the harness resolved.
func TestCaamcryptRunsInGuest(t *testing.T) {
	RequireVM(t)
	m := New(t, Config{Flavour: NoUdev, Binaries: map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")}})
	res := m.Boot(Boot{Steps: []Step{{Name: "version", Run: "caamcrypt --version"}}})
	res.Require(t)
	if !strings.Contains(res.Step("version").Output, "caamcrypt") {
		t.Errorf("caamcrypt --version printed %q", res.Step("version").Output)
	}
}
