package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A real SIGTERM to this process cancels the context with the signal as
// cause, and a command that then fails exits 143; one that succeeded
// keeps 0.
func TestSignalCancelsContext(t *testing.T) {
	var stderr bytes.Buffer
	ctx, stop := signalContext(&stderr)
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	var ie *interruptedError
	if !errors.As(context.Cause(ctx), &ie) || ie.sig != syscall.SIGTERM {
		t.Fatalf("cause %v", context.Cause(ctx))
	}
	if code, ok := interruptedExit(ctx, errors.New("stopped")); !ok || code != 143 {
		t.Fatalf("exit %d %v, want 143", code, ok)
	}
	if _, ok := interruptedExit(ctx, nil); ok {
		t.Fatal("a command that finished is reported interrupted")
	}
	if !strings.Contains(stderr.String(), "SIGTERM") {
		t.Fatalf("stderr %q does not name the signal", stderr.String())
	}
}
