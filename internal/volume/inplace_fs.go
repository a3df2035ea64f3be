package volume

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// The e2fsprogs steps of the in-place transitions. They run with an argv
// (runTool), on a device nothing else holds: e2fsck and resize2fs open it
// exclusively themselves.

// requireCleanExt runs e2fsck -f -n (a full check that changes nothing)
// and refuses a file system with errors: moving it would move them, and a
// shrink of a damaged file system can lose files.
func requireCleanExt(ctx context.Context, dev string) error {
	code, out, err := runTool(ctx, []string{"e2fsck", "-f", "-n", dev})
	if err == nil {
		return nil
	}
	if code > 0 {
		return fmt.Errorf("%w: the file system on %s is not clean (e2fsck -f -n exit %d: %s): run e2fsck -f %s first; "+
			"nothing was written", fail.ErrRefused, dev, code, lastLine(out), dev)
	}
	return err
}

// shrinkExt shrinks the file system on dev to size bytes with resize2fs.
// resize2fs asks for a file system checked since it was last mounted, so
// e2fsck -f -p (which, on the clean file system requireCleanExt saw, only
// records the check) runs first. Too little free space is a refusal.
func shrinkExt(ctx context.Context, dev string, size int64) error {
	if _, out, err := runTool(ctx, []string{"e2fsck", "-f", "-p", dev}); err != nil {
		return fmt.Errorf("e2fsck -f -p %s before the shrink: %s: %w", dev, lastLine(out), err)
	}
	code, out, err := runTool(ctx, []string{"resize2fs", dev, strconv.FormatInt(size/1024, 10) + "K"})
	if err != nil && code > 0 {
		return fmt.Errorf("%w: resize2fs cannot shrink the file system on %s to %d bytes (too little free space?): %s; "+
			"the file system is unchanged", fail.ErrRefused, dev, size, lastLine(out))
	}
	return err
}

// minSizeRe finds resize2fs -P's answer.
var minSizeRe = regexp.MustCompile(`minimum size of the filesystem: ([0-9]+)`)

// refuseTooFull asks resize2fs -P (which changes nothing) for the
// smallest size the file system on dev shrinks to, in blocks of
// blockSize, and refuses when that is more than size: before anything is
// written, not halfway. An answer it cannot read is left to resize2fs.
func refuseTooFull(ctx context.Context, dev string, size, blockSize int64) error {
	_, out, err := runTool(ctx, []string{"resize2fs", "-P", dev})
	if err != nil {
		return nil
	}
	mm := minSizeRe.FindStringSubmatch(out)
	if mm == nil {
		return nil
	}
	blocks, _ := strconv.ParseInt(mm[1], 10, 64)
	if need := blocks * blockSize; need > size {
		return fmt.Errorf("%w: too little free space on %s: the file system can shrink to %d bytes at the least (resize2fs -P), "+
			"the volume leaves it %d; free %d bytes and try again; nothing was written", fail.ErrRefused, dev, need, size, need-size)
	}
	return nil
}

// growExt grows the file system on dev to the whole device (after decrypt).
func growExt(ctx context.Context, dev string) error {
	if _, out, err := runTool(ctx, []string{"e2fsck", "-f", "-p", dev}); err != nil {
		return fmt.Errorf("e2fsck -f -p %s before growing: %s: %w", dev, lastLine(out), err)
	}
	if _, out, err := runTool(ctx, []string{"resize2fs", dev}); err != nil {
		return fmt.Errorf("resize2fs %s: %s: %w", dev, lastLine(out), err)
	}
	return nil
}

// extSizeOf reads the size of the ext file system at the start of r.
func extSizeOf(r BlockDev, what string) (int64, []byte, error) {
	first := make([]byte, 4096)
	if _, err := r.ReadAt(first, 0); err != nil {
		return 0, nil, fmt.Errorf("read the first block of %s: %w", what, err)
	}
	n, ok := probe.ExtSize(first[:2048])
	if !ok {
		return 0, first, fmt.Errorf("%w: %s holds no ext2/3/4 file system: in-place encryption needs one "+
			"(resize2fs gives up the space the header takes); nothing was written", fail.ErrRefused, what)
	}
	return n, first, nil
}

// lastLine is the last non-empty line of a tool's output, for messages.
func lastLine(s string) string {
	for i := len(s) - 1; i > 0; i-- {
		if s[i] == '\n' && i < len(s)-1 {
			return s[i+1:]
		}
	}
	return s
}
