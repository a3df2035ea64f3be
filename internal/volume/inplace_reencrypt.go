package volume

import (
	"context"
	"fmt"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/inplace"
)

// Reencrypt gives the closed caamcrypt volume on o.Device a new key in
// place (FORMAT.md, "In-place transitions"): the payload is read through a
// mapping with the old key and written through one with the new key, chunk
// by chunk, with a journal of per-sector hashes and the record in the
// header area; the header carries FlagTransition until the end. Run again
// after any interruption, it goes on from the record.
func (m *Manager) Reencrypt(ctx context.Context, o ReencryptOptions) (res *TransitionResult, err error) {
	dev, size, rec, unlock, err := m.beginTransition(ctx, o.Device, inplace.Reencrypt)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if rec != nil && o.DryRun {
		return resumableDryRun(dev, rec), nil
	}
	if rec != nil {
		return m.resumeReencrypt(ctx, dev, rec, o.Progress)
	}
	h, _, err := m.readHeader(dev) // refuses FlagTransition without a record: nothing to go on from
	if err != nil {
		return nil, err
	}
	if h.Unfinished() {
		return nil, fmt.Errorf("%w: the format of %s did not finish: the volume holds no data to reencrypt", fail.ErrRefused, dev)
	}
	if err := m.refuseUsedInTransition(dev); err != nil {
		return nil, err
	}
	if err := m.caamPresent(); err != nil {
		return nil, fmt.Errorf("%w; nothing was written", err)
	}
	ss := int64(h.SectorSize)
	length := size - int64(h.PayloadOffset)
	if h.PayloadSize != 0 {
		length = int64(h.PayloadSize)
	}
	length = length / ss * ss
	res = &TransitionResult{Op: "reencrypt", Device: dev, UUID: h.UUID.String(), Label: h.Label, DryRun: o.DryRun,
		FSSize: length, FSSizeBefore: length, PayloadOffset: int64(h.PayloadOffset), PayloadSize: length}

	oldBlack, err := m.importBlob(h.Blob, "the header of "+dev)
	if err != nil {
		return nil, err
	}
	defer wipe(oldBlack)
	u := &undoStack{log: m.log.WithField("device", dev)}
	defer func() {
		if err != nil {
			err = u.run(err)
		} else {
			u.release()
		}
	}()
	// The old key must open the volume before anything is written.
	xold := xoldName(h)
	oldSpec := cryptSpec{Cipher: h.Cipher, KeyLen: len(oldBlack), KeyDesc: keyDescription(xold), Device: dev,
		Offset: int64(h.PayloadOffset), Length: length, SectorSize: int(ss)}
	if _, err := m.loadKey(u, oldSpec.KeyDesc, oldBlack, m.cfg.Keyring); err != nil {
		return nil, err
	}
	if err := m.verifyCheck(u, xold, h.UUID, oldSpec); err != nil {
		return nil, err
	}
	if err := m.unlinkLeftover(oldSpec.KeyDesc, m.cfg.Keyring); err != nil {
		return nil, err
	}
	u.drop(undoUnlinkKey)
	if o.DryRun {
		res.EstimateSeconds = m.estimate(dev, length, 2)
		return res, nil
	}

	fo := FormatOptions{Name: defaultName(h.Label, dev), Label: h.Label, Key: o.Key, SaveKey: o.SaveKey, Enc: o.Enc,
		KeySize: o.KeySize, SectorSize: int(ss), FS: FSNone, Type: TypeCAAMCrypt}
	enc, err := fo.normalize()
	if err != nil {
		return nil, err
	}
	black, blob, keyName, err := m.formatKey(u, &fo, enc)
	if err != nil {
		return nil, err
	}
	defer wipe(black)
	res.Key = keyName
	target, err := newHeader(h.UUID, fo, black, blob, int64(h.PayloadOffset))
	if err != nil {
		return nil, err
	}
	target.Cipher, target.PayloadSize, target.Created = h.Cipher, h.PayloadSize, h.Created
	tb, err := target.Marshal()
	if err != nil {
		return nil, err
	}
	hb, err := h.Marshal()
	if err != nil {
		return nil, err
	}
	chunk := min(int64(reencryptChunk), int64(inplace.MaxReencryptChunk(int(ss)))) / ss * ss
	rec = &inplace.Record{Direction: inplace.Reencrypt, Chunk: uint32(chunk), Total: uint64(length),
		DevSize: uint64(size / inplace.Align * inplace.Align), Shift: h.PayloadOffset, JournalSector: uint32(ss),
		Target: tb, Old: hb}
	raw, err := openDirect(dev)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	defer raw.Close()
	if err := inplace.NewLog(raw, inplace.HeaderAreaBase).Start(rec); err != nil {
		return nil, fmt.Errorf("start the transition record of %s: %w", dev, err)
	}
	u.drop(undoRemoveKeyFiles) // the saved key now belongs to the volume the record describes
	marked := *h
	marked.Flags |= header.FlagTransition
	if err := m.finishHeader(dev, &marked); err != nil {
		return nil, resumeHint(err, "reencrypt", dev)
	}
	d, err := m.runReencrypt(ctx, u, dev, h, target, oldBlack, black, raw, rec, o.Progress)
	res.Seconds = d.Seconds()
	if err != nil {
		return nil, resumeHint(err, "reencrypt", dev)
	}
	return res, nil
}

// runReencrypt maps the payload with both keys, moves every chunk to the
// new key and finishes the header.
func (m *Manager) runReencrypt(ctx context.Context, u *undoStack, dev string, old, target *header.Header, oldBlack, black []byte,
	raw directDev, rec *inplace.Record, progress func(done, total int64)) (time.Duration, error) {
	xold, xnew := xoldName(old), xferName(target)
	length := int64(rec.Total)
	oldSpec := cryptSpec{Cipher: old.Cipher, KeyLen: len(oldBlack), KeyDesc: keyDescription(xold), Device: dev,
		Offset: int64(old.PayloadOffset), Length: length, SectorSize: int(old.SectorSize)}
	newSpec := cryptSpec{Cipher: target.Cipher, KeyLen: len(black), KeyDesc: keyDescription(xnew), Device: dev,
		Offset: int64(target.PayloadOffset), Length: length, SectorSize: int(target.SectorSize)}
	om, err := m.mapTransition(u, xold, xferUUID(xold), oldBlack, oldSpec)
	if err != nil {
		return 0, err
	}
	defer om.Close()
	nm, err := m.mapTransition(u, xnew, xferUUID(xnew), black, newSpec)
	if err != nil {
		return 0, err
	}
	defer nm.Close()
	log := inplace.NewLog(raw, inplace.HeaderAreaBase)
	if _, err := log.Read(); err != nil {
		return 0, err
	}
	d, err := m.move(ctx, &inplace.Mover{Raw: raw, Map: nm, Old: om, Log: log, Progress: progress}, rec)
	if err != nil {
		return d, err
	}
	// The end: the key-check area under the new key, then the header with
	// the new blob and without FlagTransition, then the record goes.
	if err := m.writeCheck(u, xnew, target.UUID, newSpec); err != nil {
		return d, err
	}
	if err := m.finishHeader(dev, target); err != nil {
		return d, err
	}
	if err := zeroRange(raw, inplace.JournalOffset, inplace.JournalOffset+inplace.JournalMax); err != nil {
		return d, fmt.Errorf("clear the reencrypt journal of %s: %w", dev, err)
	}
	if err := log.Clear(); err != nil {
		return d, err
	}
	if err := m.closeTransition(u, om, xold, oldSpec.KeyDesc); err != nil {
		return d, err
	}
	if err := m.closeTransition(u, nm, xnew, newSpec.KeyDesc); err != nil {
		return d, err
	}
	m.log.WithField("device", dev).Info("reencrypt finished")
	return d, nil
}

// resumeReencrypt goes on with the reencrypt rec describes.
func (m *Manager) resumeReencrypt(ctx context.Context, dev string, rec *inplace.Record, progress func(done, total int64)) (res *TransitionResult, err error) {
	old, err := header.Unmarshal(rec.Old)
	if err != nil {
		return nil, fmt.Errorf("%w: the old header in the transition record of %s: %w", fail.ErrRefused, dev, err)
	}
	target, err := header.Unmarshal(rec.Target)
	if err != nil {
		return nil, fmt.Errorf("%w: the new header in the transition record of %s: %w", fail.ErrRefused, dev, err)
	}
	if err := m.refuseUsedInTransition(dev); err != nil {
		return nil, err
	}
	if err := m.caamPresent(); err != nil {
		return nil, err
	}
	oldBlack, err := m.importBlob(old.Blob, "the transition record of "+dev+" (old key)")
	if err != nil {
		return nil, err
	}
	defer wipe(oldBlack)
	black, err := m.importBlob(target.Blob, "the transition record of "+dev+" (new key)")
	if err != nil {
		return nil, err
	}
	defer wipe(black)
	raw, err := openDirect(dev)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	defer raw.Close()
	u := &undoStack{log: m.log.WithField("device", dev)}
	defer func() {
		if err != nil {
			err = u.run(err)
		} else {
			u.release()
		}
	}()
	m.log.WithField("device", dev).Warnf("resuming the reencrypt at %d%%", rec.Percent())
	d, err := m.runReencrypt(ctx, u, dev, old, target, oldBlack, black, raw, rec, progress)
	if err != nil {
		return nil, resumeHint(err, "reencrypt", dev)
	}
	return &TransitionResult{Op: "reencrypt", Device: dev, UUID: target.UUID.String(), Label: target.Label, Resumed: true,
		FSSize: int64(rec.Total), PayloadOffset: int64(target.PayloadOffset), PayloadSize: int64(rec.Total), Seconds: d.Seconds()}, nil
}
