package vm

import (
	"fmt"
	"math/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/test/vm/fsfixture"
)

// TestInplacePowerCuts pulls the plug (QEMU killed, Boot.PowerCut) at
// seeded random moments of `caamcrypt encrypt`, `reencrypt` and `decrypt`
// of a populated ext4 (fsfixture), chained on one device: encrypt, then
// reencrypt, then decrypt, then encrypt again. The next boot re-runs the
// command that was cut (the resume issue 12 names) and checks the end
// form: the volume opens (encrypt, reencrypt) or the plain file system
// is back (decrypt), e2fsck -f -n is clean and every file's type, mode,
// owner, size, mtime and SHA-256 (or link target) equal the fixture's
// manifest. A cut that came after the command had ended is not counted
// and is retried (the window shrinks to 90% of the measured duration);
// the first boot runs the chain uncut, checking after each command, and
// measures the windows.
//
// What a QEMU kill loses: the guest's memory and page cache, and with the
// volatile-cache disk of powerCutDisks some of the writes not yet flushed
// (test/vm/README.md, "Power cuts"); it runs once with each disk there.
// Dropped and reordered unflushed writes in general are
// TestInplaceCrashStates's subject.
//
// Figures: @@RELIABILITY|inplace-powercut|<op>, <disk>|<cuts
// mid-operation>|<file systems lost>. Short (make test): 2 cuts per
// command and disk; CAAMCRYPT_RELIABILITY=long: 20 and the long fixture (a
// few thousand files); CAAMCRYPT_POWERCUTS=N sets the cuts per command.
func TestInplacePowerCuts(t *testing.T) {
	per := powerCutsPer(2)
	for _, d := range powerCutDisks {
		t.Run(d.test, func(t *testing.T) { inplacePowerCuts(t, per, d.label, d.cache) })
	}
}

func inplacePowerCuts(t *testing.T, per int, disk, cache string) {
	spec, devMiB, fsMiB := fsfixture.Short(20261201), 32, 24
	if os.Getenv("CAAMCRYPT_RELIABILITY") == "long" {
		spec, devMiB, fsMiB = fsfixture.Long(20261201), 96, 80
	}
	bin := MustBuildGo(t, "./cmd/caamcrypt")
	ops := ipOpsAvailable(t, bin)
	if ops == nil {
		t.Skip("caamcrypt has no encrypt/reencrypt/decrypt commands: nothing to cut")
	}
	fx := ipMakeFixture(t, spec, devMiB, fsMiB)
	files := fx.files()
	files["/etc/caamcrypt-test/ops.sh"] = []byte(ipOpsScript(ops, fx.fsMiB))
	m := New(t, Config{
		Flavour:      NoUdev,
		Disks:        []DiskSpec{{Name: "vol", SizeMiB: devMiB}},
		Binaries:     ipBinaries(t, bin),
		Files:        files,
		ExtraModules: []Module{CaamsimModule(t, "")},
		Timeout:      10 * time.Minute,
		DiskCache:    cache,
	})
	fx.load(t, m, "vol")
	V := m.GuestDevice("vol")
	lib := ". /etc/caamcrypt-test/inplace.sh; . /etc/caamcrypt-test/ops.sh\n"
	// final I TO: the end-form check of operation I.
	final := func(to string) string {
		return fmt.Sprintf("ip_final %s %s; echo \"@@PC fin=$FIN fsck=$K fx=$FX\"", to, V)
	}

	// Boot 1: the chain uncut, each command checked, and timed.
	var steps []volStep
	for i, op := range ops {
		steps = append(steps, volStep{op.name, lib + fmt.Sprintf("ip_run_%d %s", i, V), 0},
			volStep{op.name + "-check", lib + final(op.to) + " && [ $FIN = 0 ] && [ $K = 0 ] && [ $FX = ok ]", 0})
	}
	res := volRunTimeout(t, m, ipCmdline, steps, 20*time.Minute)
	if t.Failed() {
		t.Fatalf("the uncut chain failed; console tail:\n%s", res.ConsoleTail(30))
	}
	window := map[string]time.Duration{}
	for _, op := range ops {
		d := res.Step(op.name).Duration
		window[op.name] = d * 9 / 10
		t.Logf("uncut %s: %s", op.name, d.Round(100*time.Millisecond))
	}

	rng := rand.New(rand.NewSource(20261201))
	cuts, lost := map[string]int{}, map[string]int{}
	late, dropping := 0, 0
	pending := -1 // the operation a cut interrupted, to resume in the next boot
	// judge checks the resume of the previous cut in res; false when the
	// file system was lost (the device is then reset to the fixture, and
	// what else that boot did is void).
	judge := func(res *Result) bool {
		if pending < 0 {
			return true
		}
		op := ops[pending]
		out := volOut(res, "resume")
		var l string
		for _, x := range strings.Split(out, "\n") {
			if rest, ok := strings.CutPrefix(x, "@@PC "); ok {
				l = rest
			}
		}
		pending = -1
		if ipField(l, "fin") == "0" && ipField(l, "fsck") == "0" && ipField(l, "fx") == "ok" {
			return true
		}
		lost[op.name]++
		t.Errorf("after a power cut during %s and its resume: %q\n%s", op.name, l, out)
		// Start again from the fixture so the next cuts count.
		fx.load(t, m, "vol")
		return false
	}
	// The chain goes on whether a cut landed mid-operation (resumed in the
	// next boot) or late (the command had finished); it stops when every
	// command has been cut mid-way per times (bounded, for late cuts).
	enough := func() bool {
		for _, op := range ops {
			if cuts[op.name] < per {
				return false
			}
		}
		return true
	}
	for c := 0; !enough(); c++ {
		if c >= 3*per*len(ops) {
			t.Errorf("gave up after %d boots: cuts %v", c, cuts)
			break
		}
		i := c % len(ops)
		op := ops[i]
		var bs []Step
		if pending >= 0 {
			bs = append(bs, Step{Name: "resume", Run: lib + fmt.Sprintf("ip_sub 900 ip_run_%d %s 2>&1 | tail -n 3; %s", pending, V, final(ops[pending].to)), MayFail: true})
		}
		// After a loss the device is the fixture again: encrypt it (uncut)
		// when the operation starts from a volume. The resume's outcome
		// is only known after the boot, so prep checks the form itself.
		if op.from == "volume" {
			bs = append(bs, Step{Name: "prep", Run: lib + fmt.Sprintf("caamcrypt open %s --name ipp >/dev/null 2>&1 && caamcrypt close ipp >/dev/null || ip_run_0 %s", V, V)})
		}
		bs = append(bs, Step{Name: "op", Run: lib + fmt.Sprintf("ip_run_%d %s", i, V), MayFail: true}, Step{Name: "idle", Run: "sleep 600"})
		delay := time.Duration(rng.Int63n(int64(window[op.name])))
		res := m.Boot(Boot{Cmdline: ipCmdline, Steps: bs, Timeout: 20 * time.Minute, PowerCut: &PowerCut{Step: "op", After: delay}})
		if !judge(res) {
			continue
		}
		if s := res.Step("prep"); s != nil && (!s.Done || s.ExitCode != 0) {
			t.Fatalf("prep (the device as a volume) failed:\n%s", s.Output)
		}
		pc := res.PowerCut
		if pc == nil || !pc.Cut || !pc.Began {
			t.Fatalf("power cut during %s did not happen; console:\n%s", op.name, res.ConsoleTail(30))
		}
		if !pc.Ended {
			cuts[op.name]++
			pending = i
			if pc.Dropped > 0 {
				dropping++
			}
			t.Logf("power cut %s #%d at +%s, mid-operation (clusters of unflushed writes dropped: %d)", op.name, cuts[op.name], pc.Elapsed.Round(time.Millisecond), pc.Dropped)
			continue
		}
		late++
		if s := res.Step("op"); s != nil && s.Done {
			if s.ExitCode != 0 {
				t.Fatalf("%s failed uncut:\n%s", op.name, s.Output)
			}
			window[op.name] = s.Duration * 9 / 10
		}
		t.Logf("power cut %s at +%s came after it ended (not counted; window now %s)", op.name, pc.Elapsed.Round(time.Millisecond), window[op.name].Round(time.Millisecond))
	}
	if pending >= 0 {
		res := m.Boot(Boot{Cmdline: ipCmdline, Steps: []Step{{Name: "resume", Run: lib + fmt.Sprintf("ip_sub 900 ip_run_%d %s 2>&1 | tail -n 3; %s", pending, V, final(ops[pending].to)), MayFail: true}}, Timeout: 20 * time.Minute})
		judge(res)
	}
	for _, op := range ops {
		reliabilityLine("inplace-powercut", op.name+", "+disk, cuts[op.name], lost[op.name])
	}
	t.Logf("in-place power cuts (%s): %v mid-operation (%d dropped unflushed writes), %d too late, file systems lost %v", disk, cuts, dropping, late, lost)
}
