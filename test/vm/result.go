package vm

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StepResult is what the guest reported for one step.
type StepResult struct {
	Name     string
	Command  string // the step's shell text (Step.Run)
	Index    int    // 1-based position in Boot.Steps; 0 for the harness setup
	Output   string // combined stdout and stderr
	ExitCode int    // -1 when the step did not finish
	Started  bool   // the guest began the step
	Done     bool   // the guest reported its exit code
	Duration time.Duration
}

// Result is the outcome of one boot.
type Result struct {
	Flavour   Flavour
	Boot      int // 1 for the machine's first boot
	Setup     StepResult
	Steps     []StepResult // one per Boot.Steps entry, in order, run or not
	Console   string       // kernel console (ttyS0), with the steps' output echoed
	Wall      time.Duration
	SetupDone time.Duration // guest time spent in the harness setup
	TimedOut  bool
	Finished  bool // /init reached the end of its step list
	// PowerCut reports what Boot.PowerCut did (nil without one).
	PowerCut *PowerCutReport
}

// parseResults splits the results channel into steps; steps never begun
// stay Started=false, a step cut off by a timeout has Started but not Done.
func parseResults(res *Result, text string, steps []Step) {
	res.Steps = make([]StepResult, len(steps))
	for i, s := range steps {
		res.Steps[i] = StepResult{Name: s.Name, Command: s.Run, Index: i + 1, ExitCode: -1}
	}
	res.Setup = StepResult{Name: setupStep, ExitCode: -1}
	byIndex := func(i int) *StepResult {
		if i == 0 {
			return &res.Setup
		}
		if i >= 1 && i <= len(res.Steps) {
			return &res.Steps[i-1]
		}
		return nil
	}
	var cur *StepResult
	var out strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		trim := strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(trim, markBegin):
			f := strings.Fields(strings.TrimPrefix(trim, markBegin))
			cur = nil
			if len(f) >= 1 {
				if i, err := strconv.Atoi(f[0]); err == nil {
					cur = byIndex(i)
				}
			}
			if cur != nil {
				cur.Started = true
			}
			out.Reset()
		case strings.HasPrefix(trim, markEnd) && cur != nil:
			f := strings.Fields(strings.TrimPrefix(trim, markEnd))
			for _, kv := range f {
				if v, ok := strings.CutPrefix(kv, "rc="); ok {
					cur.ExitCode, _ = strconv.Atoi(v)
				}
				if v, ok := strings.CutPrefix(kv, "ms="); ok {
					ms, _ := strconv.Atoi(v)
					cur.Duration = time.Duration(ms) * time.Millisecond
				}
			}
			// /init writes one newline before the END marker so the marker
			// starts a line even after output without a final newline.
			cur.Output = strings.TrimSuffix(out.String(), "\n")
			cur.Done = true
			cur = nil
			out.Reset()
		case trim == markDone:
			res.Finished = true
		default:
			if cur != nil {
				out.WriteString(line)
			}
		}
	}
	if cur != nil { // cut off: keep what it printed
		cur.Output = out.String()
	}
	res.SetupDone = res.Setup.Duration
}

// StepsTime is the guest time spent in the scenario's steps.
func (r *Result) StepsTime() time.Duration {
	var d time.Duration
	for _, s := range r.Steps {
		d += s.Duration
	}
	return d
}

// Step returns the named step's result, or nil if the boot had no such step.
func (r *Result) Step(name string) *StepResult {
	for i := range r.Steps {
		if r.Steps[i].Name == name {
			return &r.Steps[i]
		}
	}
	return nil
}

// consoleLines is how much console Check quotes.
const consoleLines = 40

// ConsoleTail returns the last n lines of the console.
func (r *Result) ConsoleTail(n int) string {
	lines := strings.Split(strings.TrimRight(r.Console, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// StepError is the failure report of one step: which boot and step, its
// exit code and output, and the console tail.
type StepError struct {
	Flavour     Flavour
	Boot        int
	Step        string
	ExitCode    int
	Command     string
	Reason      string // "exit code 3", "did not finish: boot timed out", ...
	Output      string
	ConsoleTail string
}

func (e *StepError) Error() string {
	return fmt.Sprintf("vm %s boot %d: step %q failed: %s\n[step command]\n%s\n[step output]\n%s\n[console tail]\n%s",
		e.Flavour, e.Boot, e.Step, e.Reason, e.Command, e.Output, e.ConsoleTail)
}

// Check returns a *StepError for the first named step (all steps when none
// are named) that did not run to exit code 0, or for a failed setup.
func (r *Result) Check(names ...string) error {
	if r.Setup.Done && r.Setup.ExitCode != 0 || !r.Setup.Done {
		return r.stepError(&r.Setup)
	}
	if len(names) == 0 {
		for _, s := range r.Steps {
			names = append(names, s.Name)
		}
	}
	for _, n := range names {
		s := r.Step(n)
		if s == nil {
			return &StepError{Flavour: r.Flavour, Boot: r.Boot, Step: n, ExitCode: -1,
				Reason: "no such step in this boot", ConsoleTail: r.ConsoleTail(consoleLines)}
		}
		if !s.Done || s.ExitCode != 0 {
			return r.stepError(s)
		}
	}
	return nil
}

func (r *Result) stepError(s *StepResult) error {
	e := &StepError{Flavour: r.Flavour, Boot: r.Boot, Step: s.Name, ExitCode: s.ExitCode,
		Command: s.Command, Output: s.Output, ConsoleTail: r.ConsoleTail(consoleLines)}
	switch {
	case s.Done:
		e.Reason = fmt.Sprintf("exit code %d", s.ExitCode)
	case s.Started && r.TimedOut:
		e.Reason = fmt.Sprintf("did not finish: boot timed out after %s", r.Wall.Round(time.Second))
	case s.Started:
		e.Reason = "did not finish: the guest stopped during the step"
	case r.TimedOut:
		e.Reason = fmt.Sprintf("never started: boot timed out after %s", r.Wall.Round(time.Second))
	default:
		e.Reason = "never started: an earlier step failed or the guest stopped"
	}
	return e
}

// Require fails the test (Fatal) with Check's report unless the named
// steps (all when none are named) exited 0.
func (r *Result) Require(t testing.TB, names ...string) {
	t.Helper()
	if err := r.Check(names...); err != nil {
		t.Fatal(err)
	}
}

// RequireExit fails the test unless the named step finished with exactly
// the given exit code (for steps that must fail: MayFail steps).
func (r *Result) RequireExit(t testing.TB, name string, code int) *StepResult {
	t.Helper()
	s := r.Step(name)
	if s == nil || !s.Done || s.ExitCode != code {
		err := r.Check(name)
		if s != nil && s.Done {
			err = fmt.Errorf("want exit code %d: %w", code, r.stepError(s))
		}
		t.Fatal(err)
	}
	return s
}
