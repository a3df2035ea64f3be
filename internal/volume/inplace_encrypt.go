package volume

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/inplace"
	"github.com/caamcrypt/caamcrypt/internal/testpause"
)

// Encrypt turns the plain ext2/3/4 file system on o.Device into a
// caamcrypt volume in place, keeping every file (FORMAT.md, "In-place
// transitions"): the file system shrinks by the header's 4 MiB and the
// record's 64 KiB if it must, then moves up by 4 MiB into the dm-crypt
// mapping, from its end down, recording its progress in the device's last
// 64 KiB after every chunk. Run again after any interruption, it goes on
// from the record. The volume is left closed.
func (m *Manager) Encrypt(ctx context.Context, o EncryptOptions) (res *TransitionResult, err error) {
	fo := FormatOptions{Device: o.Device, Label: o.Label, Key: o.Key, SaveKey: o.SaveKey, Enc: o.Enc,
		KeySize: o.KeySize, SectorSize: o.SectorSize, FS: FSNone, Type: TypeCAAMCrypt}
	if fo.Label == "" {
		fo.Label = o.Name
	}
	enc, err := fo.normalize()
	if err != nil {
		return nil, err
	}
	dev, size, rec, unlock, err := m.beginTransition(ctx, o.Device, inplace.Encrypt)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if rec != nil {
		if o.DryRun {
			return resumableDryRun(dev, rec), nil
		}
		return m.resumeEncrypt(ctx, dev, rec, o.Progress)
	}

	// Checks, before any write.
	n := size / inplace.Align * inplace.Align
	shift := int64(EncryptShift)
	avail := (n - shift - inplace.TailSize) / int64(fo.SectorSize) * int64(fo.SectorSize)
	if avail < 1<<20 {
		return nil, fmt.Errorf("%w: %s is %d bytes: too small to encrypt in place (the header takes %d bytes)",
			fail.ErrUsage, dev, size, shift+inplace.TailSize)
	}
	fsSize, label, blockSize, err := m.checkEncryptable(ctx, dev)
	if err != nil {
		return nil, err
	}
	// A dm-crypt sector larger than the file system's block makes the
	// mapping's logical block size larger than the block: the kernel
	// refuses to mount it (EINVAL; seen in the QEMU rig with a 1 KiB-block
	// ext4). By default the sector follows the block, up to 4096.
	if o.SectorSize == 0 {
		fo.SectorSize = int(min(int64(DefaultSectorSize), blockSize))
	} else if int64(o.SectorSize) > blockSize {
		return nil, fmt.Errorf("%w: --sector-size %d is larger than the %d-byte blocks of the file system on %s: it would not mount; "+
			"give at most %d", fail.ErrUsage, o.SectorSize, blockSize, dev, blockSize)
	}
	if fsSize > avail {
		if err := refuseTooFull(ctx, dev, avail, blockSize); err != nil {
			return nil, err
		}
	}
	if fo.Label == "" && len(label) <= header.MaxLabelLen {
		fo.Label = label
	}
	if fo.Name = o.Name; fo.Name == "" {
		fo.Name = defaultName(fo.Label, dev)
	}
	if err := ValidName(fo.Name); err != nil {
		return nil, err
	}
	res = &TransitionResult{Op: "encrypt", Device: dev, Label: fo.Label, DryRun: o.DryRun, FSSizeBefore: fsSize,
		PayloadOffset: shift, PayloadSize: avail}
	if fsSize > avail {
		res.GivenUp = fsSize - avail
	}
	if err := m.caamPresent(); err != nil {
		return nil, fmt.Errorf("%w; nothing was written", err)
	}
	if err := m.d.kernel.CryptReady(DefaultCipher); err != nil {
		return nil, fmt.Errorf("%w; nothing was written", err)
	}
	if o.DryRun {
		res.FSSize = min(fsSize, avail)
		res.EstimateSeconds = m.estimate(dev, res.FSSize, 1)
		if res.GivenUp > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("the file system would shrink by %d bytes (resize2fs; it refuses if the files do not fit)", res.GivenUp))
		}
		return res, nil
	}
	if fsSize > avail {
		m.log.WithField("device", dev).Infof("shrinking the file system from %d to %d bytes", fsSize, avail)
		if err := shrinkExt(ctx, dev, avail); err != nil {
			return nil, err
		}
	}

	u := &undoStack{log: m.log.WithField("device", dev)}
	defer func() {
		if err != nil {
			err = u.run(err)
		} else {
			u.release()
		}
	}()
	// The device again, exclusively: nothing may have taken it meanwhile.
	bd, err := m.openForFormat(dev, false)
	if err != nil {
		return nil, err
	}
	defer func() {
		if bd != nil {
			bd.Close()
		}
	}()
	fsSize, first, err := extSizeOf(bd, dev)
	if err != nil {
		return nil, err
	}
	if fsSize > avail {
		return nil, fmt.Errorf("the file system on %s is %d bytes after the shrink, more than the %d available", dev, fsSize, avail)
	}
	res.FSSize = fsSize

	black, blob, keyName, err := m.formatKey(u, &fo, enc)
	if err != nil {
		return nil, err
	}
	defer wipe(black)
	res.Key = keyName
	h, err := newHeader(uuid.New(), fo, black, blob, shift)
	if err != nil {
		return nil, err
	}
	h.PayloadSize = uint64(avail)
	hb, err := h.Marshal()
	if err != nil {
		return nil, err
	}
	res.UUID = h.UUID.String()
	total := (uint64(fsSize) + inplace.Align - 1) / inplace.Align * inplace.Align
	rec = &inplace.Record{Direction: inplace.Encrypt, Chunk: uint32(shift), Progress: total, Total: total,
		DevSize: uint64(n), Shift: uint64(shift), Target: hb, First: first}

	raw, err := openDirect(dev)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	defer raw.Close()
	// The tail may hold copies of blocks resize2fs moved out of it: zero
	// it whole, so no plaintext stays there (the record takes 32 KiB).
	if err := zeroRange(raw, inplace.TailBase(n), n); err != nil {
		return nil, fmt.Errorf("clear the last %d bytes of %s: %w", inplace.TailSize, dev, err)
	}
	// The first write: the record (with the real first block), then the
	// first block with its magic zeroed. From here a failure leaves the
	// record, and encrypt goes on from it; nothing is rolled back.
	if err := inplace.NewLog(raw, inplace.TailBase(n)).Start(rec); err != nil {
		return nil, fmt.Errorf("start the transition record of %s: %w", dev, err)
	}
	if _, err := raw.WriteAt(alignedCopy(inplace.ZeroExtMagic(first)), 0); err != nil {
		return nil, fmt.Errorf("hide the file system of %s while it moves: %w", dev, err)
	}
	if err := raw.Sync(); err != nil {
		return nil, fmt.Errorf("sync %s: %w", dev, err)
	}
	u.drop(undoRemoveKeyFiles) // the saved key now belongs to the volume the record describes
	m.log.WithField("device", dev).WithField("uuid", h.UUID).Info("encrypt started: transition record written")
	if err := bd.Close(); err != nil {
		return nil, fmt.Errorf("close %s: %w", dev, err)
	}
	bd = nil
	d, err := m.runEncrypt(ctx, u, dev, h, black, raw, rec, o.Progress)
	res.Seconds = d.Seconds()
	if err != nil {
		return nil, resumeHint(err, "encrypt", dev)
	}
	return res, nil
}

// resumeHint adds how to go on to an error after the record was written.
func resumeHint(err error, op, dev string) error {
	if errors.Is(err, inplace.ErrStopped) {
		return err
	}
	return fmt.Errorf("%w (the %s is recorded on the device: run caamcrypt %s %s again to go on)", err, op, op, dev)
}

// checkEncryptable refuses a device encrypt must not touch: in use, not an
// ext file system, a caamcrypt volume, errors in the file system. It
// returns the file system's size and label. The device is closed again
// (e2fsck opens it exclusively itself).
func (m *Manager) checkEncryptable(ctx context.Context, dev string) (size int64, label string, blockSize int64, err error) {
	bd, err := m.openForFormat(dev, false)
	if err != nil {
		return 0, "", 0, err
	}
	defer bd.Close()
	if header.Has(bd) {
		return 0, "", 0, fmt.Errorf("%w: %s holds a caamcrypt header: it is (or was) a caamcrypt volume already; nothing was written",
			fail.ErrRefused, dev)
	}
	fsSize, first, err := extSizeOf(bd, dev)
	if err != nil {
		return 0, "", 0, err
	}
	if err := bd.Close(); err != nil {
		return 0, "", 0, err
	}
	if err := requireCleanExt(ctx, dev); err != nil {
		return 0, "", 0, err
	}
	// s_log_block_size at superblock offset 24 (probe.ExtSize checked it).
	return fsSize, cstring(first[1024+120 : 1024+136]), 1024 << first[1024+24], nil
}

// cstring is the bytes before the first NUL.
func cstring(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// runEncrypt maps the target, moves the data and finishes the volume.
func (m *Manager) runEncrypt(ctx context.Context, u *undoStack, dev string, h *header.Header, black []byte,
	raw directDev, rec *inplace.Record, progress func(done, total int64)) (time.Duration, error) {
	name := xferName(h)
	spec := cryptSpec{Cipher: h.Cipher, KeyLen: len(black), KeyDesc: keyDescription(name), Device: dev,
		Offset: int64(h.PayloadOffset), Length: int64(h.PayloadSize), SectorSize: int(h.SectorSize)}
	mp, err := m.mapTransition(u, name, xferUUID(name), black, spec)
	if err != nil {
		return 0, err
	}
	defer mp.Close()
	log := inplace.NewLog(raw, inplace.TailBase(int64(rec.DevSize)))
	if _, err := log.Read(); err != nil { // sets the slot the next write uses
		return 0, err
	}
	d, err := m.move(ctx, &inplace.Mover{Raw: raw, Map: mp, Log: log, Progress: progress}, rec)
	if err != nil {
		return d, err
	}
	testpause.Point(ctx, inplace.PauseEncryptFinal)
	if ctx.Err() != nil {
		return d, fmt.Errorf("%w at 100%% (%w): the data is moved; run caamcrypt encrypt %s again to write the header",
			inplace.ErrStopped, context.Cause(ctx), dev)
	}
	// The header area still holds the plain file system's first 4 MiB.
	if err := zeroRange(raw, header.CopySize, header.CheckOffset); err != nil {
		return d, fmt.Errorf("clear the header area of %s: %w", dev, err)
	}
	if err := zeroRange(raw, header.CheckOffset+header.CheckSize, int64(h.PayloadOffset)); err != nil {
		return d, fmt.Errorf("clear the header area of %s: %w", dev, err)
	}
	if err := m.writeCheck(u, name, h.UUID, spec); err != nil {
		return d, err
	}
	if err := m.finishHeader(dev, h); err != nil {
		return d, err
	}
	if err := log.Clear(); err != nil {
		return d, err
	}
	if err := m.closeTransition(u, mp, name, spec.KeyDesc); err != nil {
		return d, err
	}
	m.log.WithField("device", dev).WithField("uuid", h.UUID).Info("encrypt finished")
	return d, nil
}

// resumeEncrypt goes on with the encrypt rec describes.
func (m *Manager) resumeEncrypt(ctx context.Context, dev string, rec *inplace.Record, progress func(done, total int64)) (res *TransitionResult, err error) {
	h, err := header.Unmarshal(rec.Target)
	if err != nil {
		return nil, fmt.Errorf("%w: the header in the transition record of %s: %w", fail.ErrRefused, dev, err)
	}
	if err := m.refuseUsedInTransition(dev); err != nil {
		return nil, err
	}
	black, err := m.importBlob(h.Blob, "the transition record of "+dev)
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
	m.log.WithField("device", dev).Warnf("resuming the encrypt at %d%%", rec.Percent())
	d, err := m.runEncrypt(ctx, u, dev, h, black, raw, rec, progress)
	if err != nil {
		return nil, resumeHint(err, "encrypt", dev)
	}
	return &TransitionResult{Op: "encrypt", Device: dev, UUID: h.UUID.String(), Label: h.Label, Resumed: true,
		FSSize: int64(rec.Total), PayloadOffset: int64(h.PayloadOffset), PayloadSize: int64(h.PayloadSize), Seconds: d.Seconds()}, nil
}

// refuseUsedInTransition removes what a killed run of the transition left
// and refuses a device anything else uses (mounted, mapped, held).
func (m *Manager) refuseUsedInTransition(dev string) error {
	if err := m.removeXferLeftovers(dev); err != nil {
		return err
	}
	found, err := m.d.devices.InUse(dev)
	if err != nil {
		return fmt.Errorf("check whether %s is in use: %w", dev, err)
	}
	maps, err := m.mappingsOf(dev)
	if err != nil {
		return err
	}
	if len(found) > 0 || len(maps) > 0 {
		what := describe(found)
		for _, n := range maps {
			what += " mapped as " + n
		}
		return fmt.Errorf("%w: %s is in use (%s): another run of this transition? unmount or close it first", fail.ErrRefused, dev, what)
	}
	return nil
}

// readTransitionAt reads the transition record of dev, if any.
func (m *Manager) readTransitionAt(dev string, size int64) (*inplace.Record, error) {
	bd, err := m.d.devices.Open(dev, false, false)
	if err != nil {
		return nil, deviceOpenError(dev, err)
	}
	defer bd.Close()
	r, err := transitionOf(bd, size)
	if err != nil {
		return nil, fmt.Errorf("%w: transition record of %s: %w", fail.ErrRefused, dev, err)
	}
	return r, nil
}
