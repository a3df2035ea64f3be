package volume

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/caamcrypt/caamcrypt/internal/header"
)

// RepairResult says what HeaderRepair found and did.
type RepairResult struct {
	Device   string
	UUID     string
	Repaired bool   // a copy was rewritten
	Found    string // what was wrong ("" when both copies were good)
}

// HeaderRepair rewrites a damaged or differing header copy of device from
// the good one, under the device's lock (format, open and restore of the
// same device wait for it). Both copies good: nothing is written. Both
// damaged: refused like open (restore a backup); nothing is written.
func (m *Manager) HeaderRepair(ctx context.Context, device string) (*RepairResult, error) {
	dev, err := m.d.devices.Resolve(device)
	if err != nil {
		return nil, err
	}
	unlock, err := m.lockDevice(ctx, dev)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := checkpoint(ctx, cpRepairLocked); err != nil {
		return nil, err
	}
	return m.rewriteHeader(dev)
}

// repairDamagedCopy is open's repair: the caller holds the volume lock. A
// read-only open writes nothing, and a failed repair does not stop the open
// (the good copy is enough); both only warn.
func (m *Manager) repairDamagedCopy(dev string, readOnly bool) {
	log := m.log.WithField("device", dev)
	if readOnly {
		log.Warn("a header copy is damaged or differs; not repaired because the volume is opened read-only: " +
			"run caamcrypt header repair " + dev)
		return
	}
	res, err := m.rewriteHeader(dev)
	if err != nil {
		log.WithError(err).Warn("a header copy is damaged and could not be rewritten; the volume opens from the good copy: " +
			"run caamcrypt header repair " + dev)
		return
	}
	if res.Repaired {
		log.Warnf("header %s; rewritten from the good copy", res.Found)
	}
}

// rewriteHeader reads both copies of dev and, when one is damaged or they
// differ, writes the copy Read uses to both places (copy A first, synced,
// then B: header.Restore), then reads them back.
func (m *Manager) rewriteHeader(dev string) (*RepairResult, error) {
	bd, err := m.d.devices.Open(dev, true, false)
	if err != nil {
		return nil, deviceOpenError(dev, err)
	}
	defer bd.Close()
	if err := m.refuseTransition(bd, dev); err != nil {
		return nil, err
	}
	h, rep, err := header.Read(bd)
	if err != nil {
		return nil, classifyHeaderErr(dev, err)
	}
	res := &RepairResult{Device: dev, UUID: h.UUID.String()}
	if !rep.Damaged() {
		return res, nil
	}
	res.Found = describeReport(rep)
	var good bytes.Buffer
	if _, err := header.Backup(bd, &good); err != nil {
		return nil, fmt.Errorf("read the good header copy of %s: %w", dev, err)
	}
	if _, err := header.Restore(&good, bd); err != nil {
		return nil, fmt.Errorf("rewrite header of %s: %w", dev, err)
	}
	if err := bd.Sync(); err != nil {
		return nil, fmt.Errorf("sync header of %s: %w", dev, err)
	}
	if _, after, err := header.Read(bd); err != nil || after.Damaged() {
		return nil, fmt.Errorf("header of %s still damaged after rewriting it (%s): %v", dev, describeReport(after), err)
	}
	res.Repaired = true
	m.log.WithField("device", dev).WithField("uuid", res.UUID).Infof("header %s: rewritten from the good copy", res.Found)
	return res, nil
}

// describeReport says which copies were damaged, for logs and messages.
func describeReport(rep header.ReadReport) string {
	var parts []string
	for i, c := range rep.Copies {
		if !c.Valid {
			parts = append(parts, fmt.Sprintf("copy %c was damaged (%v)", 'A'+i, c.Err))
		}
	}
	if rep.Mismatch {
		parts = append(parts, "copy B differed from copy A (an interrupted update)")
	}
	if len(parts) == 0 {
		return "both copies good"
	}
	return strings.Join(parts, ", ")
}
