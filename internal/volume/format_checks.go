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
// uses it. Without force any use is refused; with force the kernel's
// EBUSY still is (a mounted or mapped device cannot be formatted safely).
func (m *Manager) openForFormat(dev string, force bool) (BlockDev, error) {
	found, err := m.d.devices.InUse(dev)
	if err != nil {
		return nil, fmt.Errorf("check whether %s is in use: %w", dev, err)
	}
	maps, err := m.mappingsOf(dev)
	if err != nil {
		return nil, err
	}
	for _, n := range maps {
		found = append(found, probe.Finding{Kind: "mapped", Detail: "mapped as dm-crypt volume " + n})
	}
	if len(found) > 0 && !force {
		return nil, fmt.Errorf("%w: %s is in use: %s; unmount or close it first",
			fail.ErrRefused, dev, describe(found))
	}
	bd, err := m.d.devices.Open(dev, true, true)
	if errors.Is(err, unix.EBUSY) {
		return nil, fmt.Errorf("%w: %s is busy (mounted, mapped or opened exclusively%s); even --force cannot format a device "+
			"the kernel holds: unmount or close it first: %w", fail.ErrRefused, dev, inUseSuffix(found), err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	return bd, nil
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
