package volume

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// refuseMapped refuses a volume name that is already a mapping.
func (m *Manager) refuseMapped(name string) error {
	info, err := m.d.mapper.Info(name)
	if err != nil {
		return fmt.Errorf("look up mapping %s: %w", name, err)
	}
	if info.Exists {
		return fmt.Errorf("%w: a mapping named %s exists already: close it (caamcrypt close %s) or choose another --name",
			fail.ErrRefused, name, name)
	}
	return nil
}

// openForFormat opens dev read-write and exclusively after checking what
// uses it. Any use is refused, force or not: force overrides "holds data",
// never "in use". The kernel's EBUSY on O_EXCL backs this up for block
// devices, but O_EXCL means nothing for a regular file, so an image file
// attached to a loop device (and maybe mapped or mounted through it) is
// only stopped by the findings.
func (m *Manager) openForFormat(dev string, force bool) (BlockDev, error) {
	found, err := m.d.devices.InUse(dev)
	if err != nil {
		return nil, fmt.Errorf("check whether %s is in use: %w", dev, err)
	}
	maps, err := m.mappingsOf(dev, nil)
	if err != nil {
		return nil, err
	}
	for _, n := range maps {
		found = append(found, probe.Finding{Kind: "mapped", Detail: "mapped as dm-crypt volume " + n})
	}
	if len(found) > 0 {
		return nil, fmt.Errorf("%w: %s is in use: %s; unmount or close it first%s",
			fail.ErrRefused, dev, describe(found), forceNote(force))
	}
	bd, err := m.d.devices.Open(dev, true, true)
	if errors.Is(err, unix.EBUSY) {
		return nil, fmt.Errorf("%w: %s is busy (mounted, mapped or opened exclusively%s); even --force cannot format a device "+
			"the kernel holds: unmount or close it first: %w", fail.ErrRefused, dev, inUseSuffix(found), err)
	}
	if errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		return nil, fmt.Errorf("%w: %s cannot be opened for writing (a read-only device, or caamcrypt not run as root); "+
			"nothing was written: %w", fail.ErrNotReady, dev, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	// Linux lets a read-only block device (blockdev --setro, a write-
	// protected card) be opened for writing and fails the first write
	// (EPERM): ask first, so nothing is begun.
	if readOnlyBlockDev(bd) {
		bd.Close()
		return nil, fmt.Errorf("%w: %s is a read-only device (blockdev --getro says 1; write-protected?); nothing was written",
			fail.ErrNotReady, dev)
	}
	return bd, nil
}

// readOnlyBlockDev reports whether bd is a block device the kernel marks
// read-only (BLKROGET); false for image files and anything without a
// descriptor.
func readOnlyBlockDev(bd BlockDev) bool {
	f, ok := bd.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	ro, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKROGET)
	return err == nil && ro != 0
}

// refuseContents refuses (unless force) a device holding data.
func (m *Manager) refuseContents(bd BlockDev, dev string, force bool) error {
	found, err := probe.Signatures(bd)
	if err != nil {
		return fmt.Errorf("look for data on %s: %w", dev, err)
	}
	if len(found) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("%w: %s holds data: %s; formatting would destroy it (--force formats anyway)",
			fail.ErrRefused, dev, describe(found))
	}
	m.log.WithField("device", dev).Warnf("--force: overwriting %s", describe(found))
	return nil
}

// refusePlainWithData refuses (the caller passes no force) to go on with a
// plain format whose new mapping already holds a filesystem. A plain
// volume has no header, so its raw device is ciphertext that the signature
// probe cannot tell from an empty disk; with a reused key (the seed's
// layout, key files kept) a filesystem seen through the mapping is that
// volume's data, which mkfs or --wipe would destroy.
func (m *Manager) refusePlainWithData(name, dev, keyName string) error {
	node := m.d.mapper.NodePath(name)
	fstype, err := m.d.fs.Detect(node)
	if err != nil {
		return fmt.Errorf("look for a filesystem on %s: %w", node, err)
	}
	if fstype == "" {
		return nil
	}
	return fmt.Errorf("%w: %s is a plain volume holding a filesystem (%s) under key %s; formatting would destroy it "+
		"(open it with caamcrypt open --type plain, or --force formats anyway)", fail.ErrRefused, dev, fstype, keyName)
}

// describe lists probe findings for a message. A finding's Detail is a
// whole phrase ("ext4 filesystem, UUID ...", "mounted on /mnt (ext4)"), so
// the Kind is only used when there is no Detail (prefixing it read
// "filesystem ext4 filesystem" and "mounted mounted on" in the QEMU rig).
func describe(found []probe.Finding) string {
	parts := make([]string, 0, len(found))
	for _, f := range found {
		if f.Detail == "" {
			parts = append(parts, f.Kind)
			continue
		}
		parts = append(parts, f.Detail)
	}
	return strings.Join(parts, ", ")
}

// forceNote tells a user who gave --force why it did not help.
func forceNote(force bool) string {
	if !force {
		return ""
	}
	return " (--force formats over data, never over a device in use)"
}

func inUseSuffix(found []probe.Finding) string {
	if len(found) == 0 {
		return ""
	}
	return ": " + describe(found)
}

// Names of undo steps of format.
const (
	undoRemoveKeyFiles = "remove key files"
)
