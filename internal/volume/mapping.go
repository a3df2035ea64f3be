package volume

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
)

// Names of undo steps of mappings.
const (
	undoRemoveCheck   = "remove key-check mapping"
	undoRemoveMapping = "remove mapping"
)

// createMapping loads a table and records its removal as an undo step.
func (m *Manager) createMapping(u *undoStack, name string, t dm.Target, opts dm.CreateOptions) error {
	if err := m.d.mapper.Create(name, []dm.Target{t}, opts); err != nil {
		return fmt.Errorf("map %s: %w", name, err)
	}
	u.push(undoRemoveMapping, func() error { return m.removeMapping(name) })
	return nil
}

// removeMapping removes a mapping, retrying while a short-lived opener
// (udev's blkid probe) holds it; a mapping already gone is fine.
func (m *Manager) removeMapping(name string) error {
	err := m.d.mapper.Remove(name, dm.RemoveOptions{Retries: dm.DefaultRemoveRetries})
	if err != nil && !errors.Is(err, dm.ErrNotFound) {
		return err
	}
	return nil
}

// checkSpec is the table of the key-check mapping: the volume's cipher, key
// and sector size over the CheckSize bytes at CheckOffset, iv_offset 0.
func checkSpec(spec cryptSpec) cryptSpec {
	spec.Offset = header.CheckOffset
	spec.Length = header.CheckSize
	spec.Discard = false
	return spec
}

// checkUUID is the dm UUID of a volume's key-check mapping.
func checkUUID(id uuid.UUID, name string) string {
	return checkUUIDPrefix + id.String() + "-" + name
}

// writeCheck writes the check pattern through a short-lived read-write
// mapping, so the area holds the pattern encrypted with the volume key.
func (m *Manager) writeCheck(u *undoStack, name string, id uuid.UUID, spec cryptSpec) error {
	t, err := checkSpec(spec).target()
	if err != nil {
		return err
	}
	cn := checkName(name)
	if err := m.d.mapper.Create(cn, []dm.Target{t}, dm.CreateOptions{UUID: checkUUID(id, name)}); err != nil {
		return fmt.Errorf("map key-check area of %s: %w", spec.Device, err)
	}
	u.push(undoRemoveCheck, func() error { return m.removeMapping(cn) })
	node := m.d.mapper.NodePath(cn)
	bd, err := m.d.devices.Open(node, true, false)
	if err != nil {
		return fmt.Errorf("open %s: %w", node, err)
	}
	_, err = bd.WriteAt(header.CheckPattern(id), 0)
	if err == nil {
		err = bd.Sync()
	}
	if cerr := bd.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write key-check area through %s: %w", node, err)
	}
	if err := m.removeMapping(cn); err != nil {
		return fmt.Errorf("remove key-check mapping %s: %w", cn, err)
	}
	u.drop(undoRemoveCheck)
	return nil
}

// verifyCheck maps the key-check area read-only with the loaded key,
// removes the mapping again and compares what it read with the pattern.
// A mismatch means the key is not this volume's (docs/caam-abi.md §5: a
// stale ECB black key decrypts without any error to a different key).
func (m *Manager) verifyCheck(u *undoStack, name string, id uuid.UUID, spec cryptSpec) error {
	t, err := checkSpec(spec).target()
	if err != nil {
		return err
	}
	cn := checkName(name)
	if err := m.d.mapper.Create(cn, []dm.Target{t}, dm.CreateOptions{UUID: checkUUID(id, name), ReadOnly: true}); err != nil {
		return fmt.Errorf("map key-check area of %s: %w", spec.Device, err)
	}
	u.push(undoRemoveCheck, func() error { return m.removeMapping(cn) })
	node := m.d.mapper.NodePath(cn)
	got := make([]byte, header.CheckSize)
	bd, err := m.d.devices.Open(node, false, false)
	if err != nil {
		return fmt.Errorf("open %s: %w", node, err)
	}
	_, err = bd.ReadAt(got, 0)
	bd.Close()
	if err != nil {
		return fmt.Errorf("read key-check area through %s: %w", node, err)
	}
	if err := m.removeMapping(cn); err != nil {
		return fmt.Errorf("remove key-check mapping %s: %w", cn, err)
	}
	u.drop(undoRemoveCheck)
	if !bytes.Equal(got, header.CheckPattern(id)) {
		return fmt.Errorf("%w: the key does not open volume %s on %s (stale black key or blob from another device); nothing was mapped",
			fail.ErrWrongKey, name, spec.Device)
	}
	m.log.WithField("name", name).Debug("key check passed")
	return nil
}

// dmSeen is the set of device-mapper names one DM_LIST_DEVICES returned,
// taken under the volume lock so that an open asks the kernel about a name
// only when it exists (one ioctl in place of one per name and per mapping).
// nil means the list could not be read: every name may exist.
type dmSeen map[string]bool

// listNames lists the device-mapper names once; on failure it returns nil
// and callers fall back to asking per name.
func (m *Manager) listNames() dmSeen {
	entries, err := m.d.mapper.List()
	if err != nil {
		m.log.WithError(err).Debug("cannot list device-mapper devices; looking names up one by one")
		return nil
	}
	s := make(dmSeen, len(entries))
	for _, e := range entries {
		s[e.Name] = true
	}
	return s
}

// mayExist reports whether name can be a mapping: listed, or no list.
func (s dmSeen) mayExist(name string) bool { return s == nil || s[name] }

// forget drops a name removed since the list was taken.
func (s dmSeen) forget(name string) {
	if s != nil {
		delete(s, name)
	}
}

// removeStaleCheck removes a key-check mapping a killed run left behind.
// Callers hold the volume lock, so no live run is using it.
func (m *Manager) removeStaleCheck(name string, seen dmSeen) {
	cn := checkName(name)
	if !seen.mayExist(cn) {
		return
	}
	info, err := m.d.mapper.Info(cn)
	if err != nil || !info.Exists {
		return
	}
	m.log.WithField("mapping", cn).Warn("removing stale key-check mapping left by an interrupted run")
	if err := m.removeMapping(cn); err != nil {
		m.log.WithError(err).WithField("mapping", cn).Warn("cannot remove stale key-check mapping")
		return
	}
	seen.forget(cn)
}

// removeLeftovers removes what a run of volume name killed with -9 left
// that would stop the next one: a stale key-check mapping, and a payload
// mapping caamcrypt made that has no /dev/mapper node and no opener. The
// second is left by a kill between the kernel's resume and libdevmapper's
// mknod on a system without udev (docs/caam-abi.md §7; seen in the QEMU
// rig): it cannot be mounted, checked or mapped again under its name, and
// close could not look up its mounts. Callers hold the volume lock; seen
// (nil: unknown) spares the lookups of names that do not exist and is
// updated for what is removed.
func (m *Manager) removeLeftovers(name string, seen dmSeen) {
	m.removeStaleCheck(name, seen)
	if !seen.mayExist(name) {
		return
	}
	info, err := m.d.mapper.Info(name)
	if err != nil || !info.Exists || info.OpenCount != 0 {
		return
	}
	if _, ours := parseMapUUID(info.UUID); !ours {
		return
	}
	node := m.d.mapper.NodePath(name)
	if _, err := os.Stat(node); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	m.log.WithField("mapping", name).Warnf("removing mapping without device node %s left by an interrupted run", node)
	if err := m.removeMapping(name); err != nil {
		m.log.WithError(err).WithField("mapping", name).Warn("cannot remove mapping without device node")
		return
	}
	seen.forget(name)
}

// mappedTable is the crypt table of one mapping.
type mappedTable struct {
	Name   string
	Params dm.CryptParams
	Length uint64 // 512-byte sectors
}

// cryptTable returns the single crypt target of a mapping; ok is false for
// mappings of any other shape.
func (m *Manager) cryptTable(name string) (mt mappedTable, ok bool, err error) {
	ts, err := m.d.mapper.Table(name)
	if err != nil {
		return mappedTable{}, false, fmt.Errorf("table of %s: %w", name, err)
	}
	if len(ts) != 1 || ts[0].Type != "crypt" {
		return mappedTable{}, false, nil
	}
	p, err := dm.ParseCryptParams(ts[0].Params)
	if err != nil {
		return mappedTable{}, false, nil
	}
	return mappedTable{Name: name, Params: p, Length: ts[0].Length}, true, nil
}

// sameDevice reports whether a table's device reference (a path as given
// at load time, or the "major:minor" the kernel prints) is dev.
func (m *Manager) sameDevice(ref, dev string) bool {
	if ref == dev {
		return true
	}
	id, err := m.d.devices.ID(dev)
	return err == nil && id != "" && ref == id
}

// holderLister is implemented by Devices that can name the device-mapper
// devices holding a block device without asking device-mapper.
type holderLister interface {
	// Holders returns the names of the device-mapper devices whose tables
	// use path; ok is false when it cannot tell (then all are scanned).
	Holders(path string) (names []string, ok bool)
}

// mappingsOf lists the dm-crypt mappings (other than key-check ones) over
// dev. The kernel records every mapping that uses a device as its holder
// (sysfs holders/): only those are looked at, so the cost does not grow
// with the number of unrelated mappings; without that list every mapping
// is scanned: those in seen (a list taken under the device's lock, so no
// caamcrypt can have mapped dev since), or a fresh list when seen is nil.
func (m *Manager) mappingsOf(dev string, seen dmSeen) ([]string, error) {
	if hl, ok := m.d.devices.(holderLister); ok {
		if names, ok := hl.Holders(dev); ok {
			return m.cryptMappingsOver(dev, names)
		}
	}
	if seen != nil {
		names := make([]string, 0, len(seen))
		for n := range seen {
			names = append(names, n)
		}
		slices.Sort(names)
		return m.cryptMappingsOver(dev, names)
	}
	entries, err := m.d.mapper.List()
	if err != nil {
		return nil, fmt.Errorf("list device-mapper devices: %w", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name)
	}
	return m.cryptMappingsOver(dev, names)
}

// cryptMappingsOver returns those of the candidates that are dm-crypt
// mappings over dev, leaving out key-check mappings.
func (m *Manager) cryptMappingsOver(dev string, candidates []string) ([]string, error) {
	var names []string
	for _, n := range candidates {
		if strings.HasPrefix(n, checkPrefix) {
			continue
		}
		mt, ok, err := m.cryptTable(n)
		if err != nil {
			if errors.Is(err, dm.ErrNotFound) {
				continue // removed meanwhile
			}
			return nil, err
		}
		if ok && m.sameDevice(mt.Params.Device, dev) {
			names = append(names, n)
		}
	}
	return names, nil
}
