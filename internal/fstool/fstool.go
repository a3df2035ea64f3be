// Package fstool finds the filesystem tools caamcrypt runs and tells
// e2fsprogs' mke2fs from BusyBox's applet of the same name, which cannot
// make ext4 (it makes ext2 only and knows no -t). Format asks before it
// writes anything, so a minimal image without e2fsprogs is refused with the
// package to install instead of failing in mkfs after the header is on the
// device; doctor reports the same finding.
package fstool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Package names that provide e2fsprogs' mke2fs, for messages.
const (
	DebianPackage = "e2fsprogs"
	YoctoPackage  = "e2fsprogs-mke2fs"
)

// Errors of CheckMke2fs.
var (
	// ErrMissing means no mke2fs is on PATH.
	ErrMissing = errors.New("mke2fs not found")
	// ErrBusyBox means the mke2fs on PATH is BusyBox's applet.
	ErrBusyBox = errors.New("mke2fs is BusyBox's applet, which cannot make ext4")
	// ErrUnknown means the mke2fs on PATH did not identify as e2fsprogs.
	ErrUnknown = errors.New("mke2fs is not e2fsprogs' mke2fs")
)

// Hint names the packages that provide a usable mke2fs.
const Hint = "install e2fsprogs' mke2fs (package " + DebianPackage + " on Debian, " + YoctoPackage + " in Yocto)"

// CheckMke2fs finds mke2fs with lookPath (exec.LookPath when nil) and runs
// `mke2fs -V`: e2fsprogs prints its version and "Using EXT2FS Library"
// and exits 0; BusyBox's applet rejects -V and prints its "BusyBox"
// banner. It returns the path found, and an error wrapping ErrMissing,
// ErrBusyBox or ErrUnknown that names the packages to install.
func CheckMke2fs(ctx context.Context, lookPath func(string) (string, error)) (string, error) {
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	path, err := lookPath("mke2fs")
	if err != nil {
		return "", fmt.Errorf("%w on PATH: %s", ErrMissing, Hint)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-V")
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	text := out.String()
	switch {
	case strings.Contains(text, "BusyBox"):
		return path, fmt.Errorf("%s: %w: %s", path, ErrBusyBox, Hint)
	case runErr == nil && strings.Contains(text, "EXT2FS Library"):
		return path, nil
	}
	first, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return path, fmt.Errorf("%s: %w (mke2fs -V: %q, %v): %s", path, ErrUnknown, first, runErr, Hint)
}
