package fstool

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTool writes an executable shell script named mke2fs printing out and
// exiting with code, and returns a lookPath that finds it.
func fakeTool(t *testing.T, out string, code string) func(string) (string, error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mke2fs")
	script := "#!/bin/sh\nprintf '%s\\n' '" + out + "' >&2\nexit " + code + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return func(string) (string, error) { return p, nil }
}

func TestCheckMke2fs(t *testing.T) {
	ctx := context.Background()
	if _, err := CheckMke2fs(ctx, fakeTool(t, "mke2fs 1.47.0 (5-Feb-2023)\n\tUsing EXT2FS Library version 1.47.0", "0")); err != nil {
		t.Errorf("e2fsprogs: %v", err)
	}
	_, err := CheckMke2fs(ctx, fakeTool(t, "BusyBox v1.35.0 multi-call binary.", "1"))
	if !errors.Is(err, ErrBusyBox) || !strings.Contains(err.Error(), YoctoPackage) || !strings.Contains(err.Error(), DebianPackage) {
		t.Errorf("busybox: %v", err)
	}
	if _, err := CheckMke2fs(ctx, fakeTool(t, "something else", "0")); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown: %v", err)
	}
	_, err = CheckMke2fs(ctx, func(string) (string, error) { return "", exec.ErrNotFound })
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), YoctoPackage) {
		t.Errorf("missing: %v", err)
	}
}

// The real tools of this machine, when present: e2fsprogs passes, BusyBox's
// applet is recognised.
func TestCheckMke2fsReal(t *testing.T) {
	if p, err := exec.LookPath("mke2fs"); err == nil {
		if _, err := CheckMke2fs(context.Background(), nil); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	} else {
		t.Log("no mke2fs on PATH")
	}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("busybox not on PATH")
	}
	dir := t.TempDir()
	if err := os.Symlink(bb, filepath.Join(dir, "mke2fs")); err != nil {
		t.Fatal(err)
	}
	_, err = CheckMke2fs(context.Background(), func(string) (string, error) { return filepath.Join(dir, "mke2fs"), nil })
	if !errors.Is(err, ErrBusyBox) {
		t.Errorf("busybox mke2fs applet: %v", err)
	}
}
