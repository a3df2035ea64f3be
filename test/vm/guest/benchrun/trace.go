package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// traceCommand runs argv with stdout and stderr on one pipe and prints
// every line with the time since the start; it returns the command's exit
// code (1 if it could not run).
func traceCommand(argv []string) int {
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchrun -trace COMMAND [ARG...]")
		return 2
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchrun: pipe: %v\n", err)
		return 1
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = w, w
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "benchrun: start %s: %v\n", argv[0], err)
		return 1
	}
	w.Close() // the child holds the write end; EOF when it exits
	stamp(r, start)
	err = cmd.Wait()
	fmt.Printf("+%9.1fms exit %v\n", ms(time.Since(start)), err)
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}

// stamp copies lines from r to stdout, each prefixed with the time since start.
func stamp(r io.Reader, start time.Time) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		fmt.Printf("+%9.1fms %s\n", ms(time.Since(start)), sc.Text())
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
