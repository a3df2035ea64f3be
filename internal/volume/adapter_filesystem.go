package volume

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/fstool"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// execFilesystem is Filesystem over e2fsprogs, run with an argv (never a
// shell, so labels and paths are never interpreted).
type execFilesystem struct{}

// mkfsArgs is the mke2fs command line: -q quiet, -F because format has
// already checked the device (and a fresh mapping can hold random bytes
// that look like a signature), -t the filesystem type.
func mkfsArgs(dev, fstype, label string) []string {
	args := []string{"mke2fs", "-q", "-F"}
	if label != "" {
		args = append(args, "-L", label)
	}
	return append(args, "-t", fstype, dev)
}

// CheckMkfs finds e2fsprogs' mke2fs (package fstool): a BusyBox image has
// an mke2fs applet that cannot make ext4, and without this check format
// wrote its header and then failed in mkfs.
func (execFilesystem) CheckMkfs(ctx context.Context, fstype string) error {
	if fstype != FSExt4 {
		return fmt.Errorf("%w: filesystem %q: only ext4 can be made", fail.ErrUsage, fstype)
	}
	if _, err := fstool.CheckMke2fs(ctx, nil); err != nil {
		return fmt.Errorf("%w: cannot make %s: %w", fail.ErrNotReady, fstype, err)
	}
	return nil
}

func (execFilesystem) Mkfs(ctx context.Context, dev, fstype, label string) error {
	if fstype != FSExt4 {
		return fmt.Errorf("%w: filesystem %q: only ext4 can be made", fail.ErrUsage, fstype)
	}
	_, _, err := runTool(ctx, mkfsArgs(dev, fstype, label))
	return err
}

// Fsck runs e2fsck -p (preen: fix what is safe without questions, full
// check only when the filesystem asks for it) and maps its exit status
// (e2fsck(8)): 0 clean, 1 corrected, 2 corrected and reboot advised, 4 and
// up errors left or operational failure. When the superblock shows that
// e2fsck -p would only say "clean" (extCheckReason), it is not run.
func (execFilesystem) Fsck(ctx context.Context, dev, fstype string) (FsckResult, error) {
	if !strings.HasPrefix(fstype, "ext") {
		return FsckClean, nil // only e2fsprogs is shipped with the tool's images
	}
	reason := readExtCheckReason(dev)
	logrus.WithFields(logrus.Fields{"pkg": "volume", "device": dev, "reason": reason}).Debug("ext superblock check")
	if reason == "" {
		return FsckClean, nil
	}
	code, out, err := runTool(ctx, []string{"e2fsck", "-p", dev})
	switch {
	case err == nil:
		return FsckClean, nil
	case code == 1:
		return FsckFixed, nil
	case code == 2:
		return FsckRebootAdvised, nil
	case code >= 4:
		return 0, fmt.Errorf("e2fsck -p found errors it could not fix on %s (exit %d): %s; nothing was mounted: "+
			"open the volume without --mount and run e2fsck -f %s by hand (on a plain volume, a wrong key or sector size "+
			"also looks like this)", dev, code, out, dev)
	}
	return 0, err
}

// Detect reads the filesystem signature of dev with package probe.
func (execFilesystem) Detect(dev string) (string, error) {
	f, err := os.Open(dev)
	if err != nil {
		return "", err
	}
	defer f.Close()
	found, err := probe.Signatures(f)
	if err != nil {
		return "", err
	}
	// probe describes a filesystem as "<type> filesystem, label ...":
	// its first word, lower-cased, is the mount(2) type (ext4, xfs, btrfs).
	for _, fd := range found {
		if fd.Kind == probe.KindFilesystem {
			if t := strings.Fields(fd.Detail); len(t) > 0 {
				return strings.ToLower(t[0]), nil
			}
		}
	}
	return "", nil
}

// runTool runs argv and returns its exit code and trimmed output. A non-zero
// exit is an error naming the command and quoting its output.
func runTool(ctx context.Context, argv []string) (int, string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	logrus.WithFields(logrus.Fields{"pkg": "volume", "argv": argv, "exit": code, "err": err}).Debug("exec")
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return -1, "", fmt.Errorf("%w: %s is not installed (package e2fsprogs): %w", fail.ErrNotReady, argv[0], err)
	case err != nil && code != 0:
		return code, text, fmt.Errorf("%s failed with exit status %d: %s", strings.Join(argv, " "), code, text)
	case err != nil:
		return -1, text, fmt.Errorf("run %s: %w", argv[0], err)
	}
	return 0, text, nil
}
