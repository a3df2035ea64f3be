package volume

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/caamcrypt/caamcrypt/internal/atomicfile"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// HeaderBackup copies the header of device to a new file (mode 0600,
// written atomically, never overwriting). The file holds the blob, which
// only this SoC can open, and is what restores a damaged header.
func (m *Manager) HeaderBackup(device, file string) (*header.Header, error) {
	dev, err := m.d.devices.Resolve(device)
	if err != nil {
		return nil, err
	}
	bd, err := m.d.devices.Open(dev, false, false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	defer bd.Close()
	if err := m.refuseTransition(bd, dev); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	h, err := header.Backup(bd, &buf)
	if err != nil {
		return nil, classifyHeaderErr(dev, err)
	}
	if err := atomicfile.Create(file, buf.Bytes(), 0o600); err != nil {
		if errors.Is(err, atomicfile.ErrExists) {
			return nil, fmt.Errorf("%w: %s exists; a header backup never overwrites a file: choose another name", fail.ErrRefused, file)
		}
		return nil, fmt.Errorf("write header backup %s: %w", file, err)
	}
	m.log.WithField("device", dev).WithField("file", file).Info("header backed up")
	return h, nil
}

// HeaderRestore writes the header backup in file to device. It refuses,
// unless force, when the device holds a valid header of another volume or
// of the same volume with another blob, or when it has no caamcrypt header
// but holds a filesystem or other data or is in use (probably the wrong
// device): only a missing or damaged header on an otherwise unused device,
// or an identical header, is replaced without asking. The payload is not
// touched.
func (m *Manager) HeaderRestore(device, file string, force bool) (*header.Header, error) {
	dev, err := m.d.devices.Resolve(device)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read header backup: %w", err)
	}
	// Validate the file before the device is opened for writing.
	if _, err := header.Restore(bytes.NewReader(data), discardWriterAt{}); err != nil {
		return nil, fmt.Errorf("%w: header backup %s is not usable: %w", fail.ErrRefused, file, err)
	}
	bd, err := m.d.devices.Open(dev, true, false)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	defer bd.Close()
	// Even with force: a header written over a transition would hide the
	// record's state and lose the data being moved.
	if err := m.refuseTransition(bd, dev); err != nil {
		return nil, err
	}
	if !force {
		if err := m.refuseRestoreOver(bd, dev, data); err != nil {
			return nil, err
		}
	}
	h, err := header.Restore(bytes.NewReader(data), bd)
	if err != nil {
		return nil, fmt.Errorf("restore header of %s: %w", dev, err)
	}
	if err := bd.Sync(); err != nil {
		return nil, fmt.Errorf("sync %s: %w", dev, err)
	}
	if err := bd.Close(); err != nil {
		return nil, fmt.Errorf("close %s: %w", dev, err)
	}
	if err := m.verifyHeaderOnDevice(dev, h); err != nil {
		return nil, err
	}
	m.log.WithField("device", dev).WithField("uuid", h.UUID).Info("header restored")
	return h, nil
}

// refuseRestoreOver refuses a restore of backup (the file's bytes) onto
// dev when dev holds a valid header of another volume or blob, or has no
// caamcrypt header at all but holds a filesystem, partition table or other
// signature, or is in use (an open plain volume is ciphertext without
// signatures): then it is most likely the wrong device, and the header's
// 4 KiB at 0 and 64 KiB would destroy its data.
func (m *Manager) refuseRestoreOver(bd BlockDev, dev string, backup []byte) error {
	cur, _, err := header.Read(bd)
	if err == nil {
		b, _ := header.Unmarshal(backup[:header.CopySize])
		if b == nil || cur.UUID != b.UUID || !bytes.Equal(cur.Blob, b.Blob) {
			return fmt.Errorf("%w: %s holds a valid header of volume %s (label %q) that differs from the backup; "+
				"restoring would replace it (--force restores anyway)", fail.ErrRefused, dev, cur.UUID, cur.Label)
		}
		return nil
	}
	if header.Has(bd) {
		return nil // a damaged header: what restore is for
	}
	found, err := probe.Signatures(bd)
	if err != nil {
		return fmt.Errorf("look for data on %s: %w", dev, err)
	}
	used, err := m.d.devices.InUse(dev)
	if err != nil {
		return fmt.Errorf("check whether %s is in use: %w", dev, err)
	}
	if found = append(found, used...); len(found) > 0 {
		return fmt.Errorf("%w: %s has no caamcrypt header and holds data or is in use: %s; is it the right device? "+
			"Restoring would overwrite it (--force restores anyway)", fail.ErrRefused, dev, describe(found))
	}
	// A closed plain volume has no signature either: its ciphertext looks
	// random. The header copies land on its first sectors, so refuse
	// unless both copy areas are blank (a header wiped with zeros).
	for _, off := range header.CopyOffsets {
		b := make([]byte, header.CopySize)
		if _, err := bd.ReadAt(b, off); err != nil {
			return fmt.Errorf("read %s at %d: %w", dev, off, err)
		}
		if !bytes.Equal(b, make([]byte, header.CopySize)) {
			return fmt.Errorf("%w: %s has no caamcrypt header but data where its copies go (at byte %d), "+
				"as a plain volume or other encrypted data would; is it the right device? "+
				"Restoring would overwrite it (--force restores anyway)", fail.ErrRefused, dev, off)
		}
	}
	return nil
}

// HeaderDump describes the header of device (never key material) and
// which copies were valid.
func (m *Manager) HeaderDump(device string) (header.Info, header.ReadReport, error) {
	dev, err := m.d.devices.Resolve(device)
	if err != nil {
		return header.Info{}, header.ReadReport{}, err
	}
	bd, err := m.d.devices.Open(dev, false, false)
	if err != nil {
		return header.Info{}, header.ReadReport{}, fmt.Errorf("open %s: %w", dev, err)
	}
	defer bd.Close()
	if err := m.refuseTransition(bd, dev); err != nil {
		return header.Info{}, header.ReadReport{}, err
	}
	h, rep, err := header.Read(bd)
	if err != nil {
		return header.Info{}, rep, classifyHeaderErr(dev, err)
	}
	return header.Dump(h), rep, nil
}

// classifyHeaderErr gives header read failures their category.
func classifyHeaderErr(dev string, err error) error {
	switch {
	case errors.Is(err, header.ErrNoHeader):
		return fmt.Errorf("%w: %s is not a caamcrypt volume (a headerless volume opens with --type plain): %w", fail.ErrNotFound, dev, err)
	case errors.Is(err, header.ErrCorrupt):
		return fmt.Errorf("%w: both header copies of %s are damaged or altered; restore a backup with caamcrypt header restore: %w",
			fail.ErrWrongKey, dev, err)
	case errors.Is(err, header.ErrVersion):
		return fmt.Errorf("%w: %s: %w (made by a newer caamcrypt)", fail.ErrNotReady, dev, err)
	}
	return fmt.Errorf("read header of %s: %w", dev, err)
}

// discardWriterAt accepts and drops writes: Restore into it only validates.
type discardWriterAt struct{}

func (discardWriterAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
