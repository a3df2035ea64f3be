package volume

import (
	"errors"
	"fmt"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/inplace"
)

// transitionOf returns the record of an in-place encrypt, decrypt or
// reencrypt of the device behind bd (size bytes), nil when none runs.
// Encrypt and decrypt keep it in the device's last 64 KiB, reencrypt in
// the header area (FORMAT.md, "In-place transitions"). A damaged record
// (both slots torn) is an error: the device is in an unknown transition.
func transitionOf(bd BlockDev, size int64) (*inplace.Record, error) {
	if size >= inplace.TailSize+header.MinPayloadOffset {
		r, err := inplace.NewLog(bd, inplace.TailBase(size)).Read()
		if err != nil || r != nil {
			return r, err
		}
	}
	return inplace.NewLog(bd, inplace.HeaderAreaBase).Read()
}

// transitionError is the refusal of every command but the one that
// finishes the transition: never "no header" or "wrong key".
func transitionError(dev string, r *inplace.Record) error {
	return fmt.Errorf("%w: %s in progress on %s (%d%%): run caamcrypt %s %s to finish it",
		fail.ErrRefused, r.Direction, dev, r.Percent(), r.Direction, dev)
}

// refuseTransition refuses a device an in-place transition is working on:
// by its record, or (reencrypt before its record was written) by the
// header's FlagTransition.
func (m *Manager) refuseTransition(bd BlockDev, dev string) error {
	size, err := m.d.devices.Size(dev)
	if err != nil {
		return fmt.Errorf("size of %s: %w", dev, err)
	}
	r, err := transitionOf(bd, size)
	if errors.Is(err, inplace.ErrCorruptRecord) {
		return fmt.Errorf("%w: %s holds a damaged in-place transition record (%w): an encrypt, decrypt or reencrypt "+
			"was under way; nothing was done", fail.ErrRefused, dev, err)
	}
	if err != nil {
		return fmt.Errorf("look for an in-place transition on %s: %w", dev, err)
	}
	if r != nil {
		return transitionError(dev, r)
	}
	if h, _, err := header.Read(bd); err == nil && h.InTransition() {
		return fmt.Errorf("%w: reencrypt in progress on %s: run caamcrypt reencrypt %s to finish it", fail.ErrRefused, dev, dev)
	}
	return nil
}

// refuseTransitionAt opens dev read-only for refuseTransition.
func (m *Manager) refuseTransitionAt(dev string) error {
	bd, err := m.d.devices.Open(dev, false, false)
	if err != nil {
		return deviceOpenError(dev, err)
	}
	defer bd.Close()
	return m.refuseTransition(bd, dev)
}
