package vm

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

// pcOp is one operation a power-cut test cuts.
type pcOp struct {
	name, prep, run string
	window          time.Duration // cut at a random moment in [0, window)
}

// pcRun is the loop of a power-cut test (TestCrashPowerCuts,
// TestCrashPowerCutsKeyDisk). Each boot first runs check, which looks at
// what the previous cut left, then the next operation's prep, then the
// operation itself, and QEMU is killed at a seeded random moment of it.
// A cut that comes after the operation ended is not counted: the window
// shrinks to 90% of the operation's duration as measured by the guest,
// and the cut is retried (at most 3 tries per counted cut). A last boot
// checks what the last cut left.
type pcRun struct {
	m           *Machine
	seed        int64
	group, disk string // figures: @@RELIABILITY|group|<op>, <disk>|<cuts mid-operation>|<problems found>
	ops         []pcOp
	check       string
	// judge returns what is wrong in the check step's output after a cut
	// during op, one entry per volume or key lost (nil: nothing).
	judge func(out, op string) []string
	// afterBoot, if set, runs on the host after every boot that ran op.
	afterBoot func(op string)
}

func (r pcRun) run(t *testing.T, per int) {
	t.Helper()
	rng := rand.New(rand.NewSource(r.seed))
	cuts, bad := map[string]int{}, map[string]int{}
	late, dropping := 0, 0
	judge := func(res *Result, after string) {
		out := volOut(res, "check")
		if s := res.Step("check"); s == nil || !s.Done {
			t.Errorf("after a power cut during %s: the check did not run to its end\n%s", after, res.ConsoleTail(30))
			bad[after]++
			return
		}
		if why := r.judge(out, after); len(why) > 0 {
			bad[after] += len(why)
			t.Errorf("after a power cut during %s:\n  %s\n%s", after, strings.Join(why, "\n  "), out)
		}
	}
	prev := ""
	for i := 0; i < per; i++ {
		for k := range r.ops {
			op := &r.ops[k]
			for try := 0; try < 3; try++ {
				delay := time.Duration(rng.Int63n(int64(op.window)))
				steps := []Step{{Name: "check", Run: r.check}}
				if op.prep != "" {
					steps = append(steps, Step{Name: "prep", Run: op.prep, MayFail: true})
				}
				steps = append(steps, Step{Name: "op", Run: op.run, MayFail: true}, Step{Name: "idle", Run: "sleep 60"})
				res := r.m.Boot(Boot{Steps: steps, Timeout: 5 * time.Minute, PowerCut: &PowerCut{Step: "op", After: delay}})
				if prev != "" {
					judge(res, prev)
				}
				prev = op.name
				if r.afterBoot != nil {
					r.afterBoot(op.name)
				}
				pc := res.PowerCut
				if pc == nil || !pc.Cut || !pc.Began {
					t.Fatalf("power cut during %s did not happen; console:\n%s", op.name, res.ConsoleTail(30))
				}
				if !pc.Ended {
					cuts[op.name]++
					if pc.Dropped > 0 {
						dropping++
					}
					t.Logf("power cut %s #%d at +%s, mid-operation (clusters of unflushed writes dropped: %d)", op.name, i, pc.Elapsed.Round(time.Millisecond), pc.Dropped)
					break
				}
				late++
				if s := res.Step("op"); s != nil && s.Done && s.Duration > 0 {
					op.window = s.Duration * 9 / 10
				}
				t.Logf("power cut %s #%d at +%s came after the operation ended (not counted; window now %s)",
					op.name, i, pc.Elapsed.Round(time.Millisecond), op.window.Round(time.Millisecond))
			}
		}
	}
	judge(r.m.Boot(Boot{Steps: []Step{{Name: "check", Run: r.check}}}), prev)
	for _, op := range r.ops {
		reliabilityLine(r.group, op.name+", "+r.disk, cuts[op.name], bad[op.name])
	}
	t.Logf("%s (%s): %v mid-operation (%d dropped unflushed writes), %d too late, problems %v", r.group, r.disk, cuts, dropping, late, bad)
}
