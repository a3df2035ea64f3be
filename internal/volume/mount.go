package volume

import (
	"context"
	"fmt"
	"os"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// checkAndMount finds the filesystem on node, checks it the way boot-time
// fsck does (e2fsck -p: only when the filesystem asks for it, unless
// read-only) and mounts it at target.
func (m *Manager) checkAndMount(ctx context.Context, node, target string, readOnly bool) error {
	fstype, err := m.d.fs.Detect(node)
	if err != nil {
		return fmt.Errorf("look for a filesystem on %s: %w", node, err)
	}
	if fstype == "" {
		return fmt.Errorf("%w: no filesystem found on %s, nothing mounted (a new volume needs caamcrypt format; "+
			"garbage here can also mean a wrong key on a plain volume)", fail.ErrNotFound, node)
	}
	if !readOnly {
		res, err := m.d.fs.Fsck(ctx, node, fstype)
		if err != nil {
			return fmt.Errorf("check %s filesystem on %s: %w", fstype, node, err)
		}
		switch res {
		case FsckFixed:
			m.log.WithField("node", node).Warn("fsck corrected filesystem errors")
		case FsckRebootAdvised:
			m.log.WithField("node", node).Warn("fsck corrected errors and advises a reboot (matters only for the root filesystem)")
		}
	}
	return m.mount(node, target, fstype, readOnly)
}

// mount mounts node at target, creating the directory if needed.
func (m *Manager) mount(node, target, fstype string, readOnly bool) error {
	if err := os.MkdirAll(target, 0o755); err != nil {
		return fmt.Errorf("create mount point %s: %w", target, err)
	}
	if err := m.d.mounter.Mount(node, target, fstype, readOnly); err != nil {
		return fmt.Errorf("mount %s (%s) on %s: %w", node, fstype, target, err)
	}
	return nil
}

// pushUnmount records the unmount of target as the undo of a mount: a
// later step that fails or is interrupted (a signal at the last checkpoint,
// finishing the header) must not leave the mapping mounted, or the mapping
// could not be removed either.
func (m *Manager) pushUnmount(u *undoStack, target string) {
	u.push(undoUnmount, func() error {
		if err := m.d.mounter.Unmount(target); err != nil {
			return fmt.Errorf("unmount %s: %w", target, err)
		}
		return nil
	})
}

// Name of the undo step of a mount.
const undoUnmount = "unmount"
