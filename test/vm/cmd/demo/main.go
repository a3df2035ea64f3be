// Command demo boots the simulated i.MX (the QEMU rig of test/vm) and tells
// the seed's encrypted-storage story step by step: each command as a field
// engineer would type it, then what the board printed. `make demo` runs it.
//
// Without the CAAM simulator module (test/caamsim/caamsim.ko, built by
// `make caamsim`) it runs the steps that need no CAAM and stops where the
// first CAAM step would be, saying so. The story itself is in story.go.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/caamcrypt/caamcrypt/test/vm"
)

func main() {
	flavour := flag.String("flavour", string(vm.Udev), "guest flavour: udev (like most images) or noudev")
	sim := flag.String("sim", "", "CAAM simulator module (default: test/caamsim/caamsim.ko of this module, if built)")
	simParams := flag.String("sim-params", "", "insmod parameters for the simulator (e.g. otpmk=...)")
	noSim := flag.Bool("no-sim", false, "run without the CAAM simulator even if it is built")
	keep := flag.Bool("keep", false, "keep the work directory (disk images, consoles)")
	flag.Parse()
	if *noSim {
		*sim = "-"
	}
	if err := run(vm.Flavour(*flavour), *sim, *simParams, *keep); err != nil {
		fmt.Fprintf(os.Stderr, "demo: %v\n", err)
		os.Exit(1)
	}
}

func run(flavour vm.Flavour, sim, simParams string, keep bool) error {
	if _, err := vm.FindHost(); err != nil {
		return err
	}
	switch sim {
	case "":
		sim = defaultSim()
	case "-":
		sim = ""
	}
	haveCAAM := sim != ""
	if haveCAAM {
		if _, err := os.Stat(sim); err != nil {
			return fmt.Errorf("CAAM simulator: %w", err)
		}
	}
	caamcrypt, err := vm.BuildGo("./cmd/caamcrypt")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "caamcrypt-demo-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Printf("work directory: %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	cfg := vm.Config{
		Flavour: flavour,
		Disks: []vm.DiskSpec{{Name: "secure", SizeMiB: 64}, {Name: "data", SizeMiB: 16}, {Name: "vault", SizeMiB: 32},
			{Name: "field", SizeMiB: 32}},
		// resize2fs: encrypt shrinks the field partition's filesystem.
		Binaries: map[string]string{"/usr/bin/caamcrypt": caamcrypt, "/usr/sbin/resize2fs": "/usr/sbin/resize2fs"},
	}
	if haveCAAM {
		cfg.ExtraModules = []vm.Module{{Path: sim, Params: simParams}}
	}
	m, err := vm.NewMachine(cfg, dir)
	if err != nil {
		return err
	}
	fmt.Printf("Simulated i.MX: Debian's kernel under QEMU (TCG), %s flavour, CAAM simulator: %s\n", flavour, simState(sim))
	for bi, b := range story {
		b.Steps = forFlavour(b.Steps, flavour)
		steps, stopAt := runnable(b.Steps, haveCAAM)
		fmt.Printf("\n=== Power-on %d: %s ===\n", bi+1, b.Title)
		if len(steps) > 0 {
			res, err := m.Run(vm.Boot{Cmdline: b.Cmdline, Steps: steps})
			if err != nil {
				return err
			}
			if err := show(b.Steps[:len(steps)], res); err != nil {
				return err
			}
		}
		if stopAt >= 0 {
			s := b.Steps[stopAt]
			fmt.Printf("\n# %s\n$ %s\n", s.Say, s.Cmd)
			fmt.Printf("\nSTOP: this step needs the CAAM (/dev/caam-keygen and the tk() ciphers).\n" +
				"Build the CAAM simulator (make caamsim -> test/caamsim/caamsim.ko) or pass -sim; the rest of the story:\n")
			for _, rest := range remaining(bi, stopAt+1, flavour) {
				fmt.Printf("  $ %s\n", rest)
			}
			return nil
		}
	}
	fmt.Println("\nThe data written before the power cycle came back through the CAAM blob, and only on the board that sealed it.")
	return nil
}

// forFlavour drops the steps meant for the other flavour.
func forFlavour(steps []demoStep, f vm.Flavour) []demoStep {
	var out []demoStep
	for _, s := range steps {
		if s.Only == "" || s.Only == f {
			out = append(out, s)
		}
	}
	return out
}

// runnable returns the boot's steps up to (not including) the first that
// needs a CAAM when there is none, and that step's index (-1 if none).
func runnable(steps []demoStep, haveCAAM bool) ([]vm.Step, int) {
	var out []vm.Step
	for i, s := range steps {
		if s.NeedsCAAM && !haveCAAM {
			return out, i
		}
		out = append(out, vm.Step{Name: fmt.Sprintf("step-%02d", i+1), Run: s.Cmd, MayFail: s.MayFail})
	}
	return out, -1
}

// show prints each step as typed and what the guest answered; a failure
// that is not part of the story (not MayFail) ends the demo with the
// harness's report (step, exit code, output, console tail).
func show(steps []demoStep, res *vm.Result) error {
	printSteps(steps, res)
	if !res.Setup.Done || res.Setup.ExitCode != 0 {
		return res.Check()
	}
	for i, s := range steps {
		if r := res.Steps[i]; !r.Done || (r.ExitCode != 0 && !s.MayFail) {
			return res.Check(r.Name)
		}
	}
	return nil
}

func printSteps(steps []demoStep, res *vm.Result) {
	for i, s := range steps {
		r := res.Steps[i]
		if !r.Started {
			return
		}
		fmt.Printf("\n# %s\n$ %s\n", s.Say, s.Cmd)
		if out := strings.TrimRight(r.Output, "\n"); out != "" {
			fmt.Println("  " + strings.ReplaceAll(out, "\n", "\n  "))
		}
		if r.ExitCode != 0 {
			fmt.Printf("  (exit code %d)\n", r.ExitCode)
		}
	}
}

// remaining lists the commands of the story from a step on, as typed.
func remaining(bootIdx, stepIdx int, f vm.Flavour) []string {
	var out []string
	for bi := bootIdx; bi < len(story); bi++ {
		start := 0
		if bi == bootIdx {
			start = stepIdx
		} else {
			out = append(out, "(power cycle: "+story[bi].Title+")")
		}
		for _, s := range forFlavour(story[bi].Steps, f)[start:] {
			out = append(out, s.Cmd)
		}
	}
	return out
}

// defaultSim is test/caamsim/caamsim.ko of this module when it was built.
func defaultSim() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := wd; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "test", "caamsim", "caamsim.ko")
			if _, err := os.Stat(p); err == nil {
				return p
			}
			return ""
		}
	}
	return ""
}

func simState(sim string) string {
	if sim == "" {
		return "not built"
	}
	return sim
}
