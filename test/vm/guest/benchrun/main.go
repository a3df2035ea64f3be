// Command benchrun runs inside the QEMU rig's guest and times shell
// scripts with the guest's monotonic clock, for the benchmarks in
// test/vm/bench_test.go. Busybox's date has no %N and /proc/uptime ticks in
// 10 ms, too coarse for one open of a volume; timing in one process also
// keeps the QEMU boot and the clock's own process start out of the numbers.
//
// Usage:
//
//	benchrun [-n N] [-warmup W] [-dir /bench] CASE...
//	benchrun -trace COMMAND [ARG...]
//
// For every case, <dir>/<CASE>.run is the timed script and the optional
// <dir>/<CASE>.setup and <dir>/<CASE>.teardown run untimed around it. Each
// script runs as "sh FILE" with stdin /dev/null. The cases are interleaved
// (round i runs every case once) so that drift in the host's load hits all
// of them alike. W warm-up rounds are run first and reported as iteration 0.
//
// Output, one line per timed run, parsed by the host benchmark:
//
//	@@BENCH <case> <iteration> <nanoseconds>
//
// With -trace, benchrun runs one command and prints each line of its
// output (stdout and stderr together) prefixed with the milliseconds since
// the command started, to see where a "--log-level debug" run spends its
// time (logrus timestamps have whole seconds only).
//
// Exit codes: 0 success, 1 a script failed (its output is printed), 2 usage.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

func main() {
	n := flag.Int("n", 10, "timed rounds")
	warm := flag.Int("warmup", 1, "untimed warm-up rounds (reported as iteration 0)")
	dir := flag.String("dir", "/bench", "directory of the case scripts")
	trace := flag.Bool("trace", false, "run the arguments as one command, timestamping its output lines")
	flag.Parse()
	if *trace {
		os.Exit(traceCommand(flag.Args()))
	}
	if flag.NArg() == 0 || *n < 1 || *warm < 0 {
		fmt.Fprintln(os.Stderr, "usage: benchrun [-n N] [-warmup W] [-dir D] CASE...")
		os.Exit(2)
	}
	for round := 1 - *warm; round <= *n; round++ {
		iter := round
		if iter < 0 {
			iter = 0
		}
		for _, c := range flag.Args() {
			d, err := runCase(*dir, c)
			if err != nil {
				fmt.Fprintf(os.Stderr, "benchrun: case %s round %d: %v\n", c, round, err)
				os.Exit(1)
			}
			fmt.Printf("@@BENCH %s %d %d\n", c, iter, d.Nanoseconds())
		}
	}
}

// runCase runs setup, the timed script and teardown of one case.
func runCase(dir, name string) (time.Duration, error) {
	base := filepath.Join(dir, name)
	if err := runOptional(base + ".setup"); err != nil {
		return 0, err
	}
	// time.Since uses the monotonic clock reading of time.Now.
	start := time.Now()
	err := runScript(base + ".run")
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if err := runOptional(base + ".teardown"); err != nil {
		return 0, err
	}
	return d, nil
}

// runOptional runs a script if it exists.
func runOptional(path string) error {
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	return runScript(path)
}

// runScript runs "sh path"; a failure carries the script's output.
func runScript(path string) error {
	cmd := exec.Command("sh", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("sh %s: %w\n%s", path, err, out.String())
	}
	return nil
}
