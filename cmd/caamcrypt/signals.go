package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// interruptedError is the cancel cause of a command's context when SIGINT
// or SIGTERM arrived: the operation stops at its next step boundary (or
// its lock wait, its mkfs, its wipe) and rolls back what it made.
type interruptedError struct{ sig syscall.Signal }

func (e *interruptedError) Error() string {
	return "interrupted by " + unix.SignalName(e.sig)
}

// exitCode is the shell convention for a death by signal, 128 + signal
// number (130 SIGINT, 143 SIGTERM): the operation did not complete.
func (e *interruptedError) exitCode() int { return 128 + int(e.sig) }

// signalContext returns a context cancelled (cause *interruptedError) by
// the first SIGINT or SIGTERM. A second one exits at once with 128+signal,
// even while the rollback of the first runs: the user asked twice, and
// what the rollback had not removed yet is cleaned up by `caamcrypt close
// NAME` and the next open or format of the volume (a killed run's
// leftovers are removed under the volume lock; an unfinished format's
// header is recognised). stop ends the handling.
func signalContext(stderr io.Writer) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var first os.Signal
		select {
		case first = <-ch:
		case <-done:
			return
		}
		sig := first.(syscall.Signal)
		fmt.Fprintf(stderr, "caamcrypt: %s: stopping and rolling back (a second signal exits at once)\n", unix.SignalName(sig))
		cancel(&interruptedError{sig})
		select {
		case s := <-ch:
			sig := s.(syscall.Signal)
			fmt.Fprintf(stderr, "caamcrypt: second signal (%s): exiting without finishing the rollback; "+
				"run caamcrypt close NAME to remove what is left\n", unix.SignalName(sig))
			os.Exit(128 + int(sig))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruptedExit returns the exit code and message suffix for a command
// that failed after ctx was cancelled by a signal (ok false otherwise).
func interruptedExit(ctx context.Context, err error) (code int, ok bool) {
	var ie *interruptedError
	if err == nil || !errors.As(context.Cause(ctx), &ie) {
		return 0, false
	}
	return ie.exitCode(), true
}
