package volume

import (
	"context"
	"fmt"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/inplace"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// decryptChunkMax bounds the decrypt chunk (it is at most the payload
// offset, so the plain copy never overwrites unmoved ciphertext).
const decryptChunkMax = 4 << 20

// Decrypt turns the closed caamcrypt volume on o.Device back into its
// plain file system (FORMAT.md, "In-place transitions"): the file system
// moves down by the payload offset out of the mapping, from its start,
// with the record in the device's last 64 KiB (a file system reaching into
// them is shrunk first), then grows back to the whole device. Run again
// after any interruption, it goes on from the record.
func (m *Manager) Decrypt(ctx context.Context, o DecryptOptions) (res *TransitionResult, err error) {
	dev, size, rec, unlock, err := m.beginTransition(ctx, o.Device, inplace.Decrypt)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var h *header.Header
	if rec != nil {
		if h, err = header.Unmarshal(rec.Target); err != nil {
			return nil, fmt.Errorf("%w: the header in the transition record of %s: %w", fail.ErrRefused, dev, err)
		}
		if o.DryRun {
			return resumableDryRun(dev, rec), nil
		}
	} else {
		if h, _, err = m.readHeader(dev); err != nil {
			return nil, err
		}
		if h.Unfinished() {
			return nil, fmt.Errorf("%w: the format of %s did not finish: the volume holds no data to decrypt", fail.ErrRefused, dev)
		}
	}
	if err := m.refuseUsedInTransition(dev); err != nil {
		return nil, err
	}
	if err := m.caamPresent(); err != nil {
		return nil, fmt.Errorf("%w; nothing was written", err)
	}
	n := size / inplace.Align * inplace.Align
	shift := int64(h.PayloadOffset)
	if shift%inplace.Align != 0 {
		return nil, fmt.Errorf("%w: %s: payload offset %d is not a multiple of %d; in-place decrypt cannot move it",
			fail.ErrRefused, dev, shift, inplace.Align)
	}
	ss := int64(h.SectorSize)
	length := size - shift
	if h.PayloadSize != 0 {
		length = int64(h.PayloadSize)
	}
	length = length / ss * ss
	avail := min(length, (n-shift-inplace.TailSize)/ss*ss)

	black, err := m.importBlob(h.Blob, "the header of "+dev)
	if err != nil {
		return nil, err
	}
	defer wipe(black)
	u := &undoStack{log: m.log.WithField("device", dev)}
	defer func() {
		if err != nil {
			err = u.run(err)
		} else {
			u.release()
		}
	}()
	name := xferName(h)
	spec := cryptSpec{Cipher: h.Cipher, KeyLen: len(black), KeyDesc: keyDescription(name), Device: dev,
		Offset: shift, Length: length, SectorSize: int(ss)}
	mp, err := m.mapTransition(u, name, xferUUID(name), black, spec)
	if err != nil {
		return nil, err
	}
	defer mp.Close()
	res = &TransitionResult{Op: "decrypt", Device: dev, UUID: h.UUID.String(), Label: h.Label, DryRun: o.DryRun,
		PayloadOffset: shift, PayloadSize: length, Resumed: rec != nil}
	if rec == nil {
		if err := m.verifyCheck(u, name, h.UUID, spec); err != nil {
			return nil, err
		}
		if rec, err = m.startDecrypt(ctx, o, dev, h, mp, n, avail, res); err != nil || rec == nil {
			if err == nil { // dry run: take the mapping down again
				err = m.closeTransition(u, mp, name, spec.KeyDesc)
			}
			return res, err
		}
	} else {
		res.FSSize = int64(rec.Total)
		m.log.WithField("device", dev).Warnf("resuming the decrypt at %d%%", rec.Percent())
	}

	raw, err := openDirect(dev)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dev, err)
	}
	defer raw.Close()
	log := inplace.NewLog(raw, inplace.TailBase(n))
	if res.Resumed {
		if _, err := log.Read(); err != nil {
			return nil, err
		}
	} else if err := log.Start(rec); err != nil {
		return nil, fmt.Errorf("start the transition record of %s: %w", dev, err)
	}
	d, err := m.move(ctx, &inplace.Mover{Raw: raw, Map: mp, Log: log, Progress: o.Progress}, rec)
	res.Seconds = d.Seconds()
	if err != nil {
		return nil, resumeHint(err, "decrypt", dev)
	}
	if err := inplace.FinishDecrypt(raw, log, rec); err != nil {
		return nil, resumeHint(err, "decrypt", dev)
	}
	if err := m.closeTransition(u, mp, name, spec.KeyDesc); err != nil {
		return nil, err
	}
	m.log.WithField("device", dev).Info("decrypt finished: the device holds the plain file system")
	if !o.NoGrow {
		if err := growExt(ctx, dev); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("the data is decrypted, but growing the file system failed (%v): run resize2fs %s", err, dev))
		}
	}
	return res, nil
}

// startDecrypt checks (and if it must, shrinks) the file system in the
// mapping and returns the record to start; nil for a dry run.
func (m *Manager) startDecrypt(ctx context.Context, o DecryptOptions, dev string, h *header.Header, mp directDev,
	n, avail int64, res *TransitionResult) (*inplace.Record, error) {
	node := m.d.mapper.NodePath(xferName(h))
	fsSize, err := mappedExtSize(mp, dev)
	if err != nil {
		return nil, err
	}
	res.FSSizeBefore, res.FSSize = fsSize, min(fsSize, avail)
	if fsSize > avail {
		res.GivenUp = fsSize - avail
	}
	if err := requireCleanExt(ctx, node); err != nil {
		return nil, err
	}
	if o.DryRun {
		res.EstimateSeconds = m.estimate(dev, res.FSSize, 1)
		if res.GivenUp > 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("the file system would shrink by %d bytes first (resize2fs)", res.GivenUp))
		}
		return nil, nil
	}
	if fsSize > avail {
		first, err := readDirectAt(mp, 0, inplace.BlockSize)
		if err != nil {
			return nil, fmt.Errorf("read the file system in %s: %w", dev, err)
		}
		if err := refuseTooFull(ctx, node, avail, 1024<<first[1024+24]); err != nil {
			return nil, err
		}
		m.log.WithField("device", dev).Infof("shrinking the file system from %d to %d bytes", fsSize, avail)
		if err := shrinkExt(ctx, node, avail); err != nil {
			return nil, err
		}
		if fsSize, err = mappedExtSize(mp, dev); err != nil {
			return nil, err
		}
		if fsSize > avail {
			return nil, fmt.Errorf("the file system of %s is %d bytes after the shrink, more than %d", dev, fsSize, avail)
		}
	}
	res.FSSize = fsSize
	first, err := readDirectAt(mp, 0, inplace.BlockSize)
	if err != nil {
		return nil, fmt.Errorf("read the file system's first block: %w", err)
	}
	hb, err := h.Marshal()
	if err != nil {
		return nil, err
	}
	total := (uint64(fsSize) + inplace.Align - 1) / inplace.Align * inplace.Align
	return &inplace.Record{Direction: inplace.Decrypt, Chunk: uint32(min(int64(h.PayloadOffset), decryptChunkMax)),
		Total: total, DevSize: uint64(n), Shift: h.PayloadOffset, Target: hb, First: first}, nil
}

// mappedExtSize is the size of the ext file system in a mapping.
func mappedExtSize(mp directDev, dev string) (int64, error) {
	b, err := readDirectAt(mp, 0, inplace.BlockSize)
	if err != nil {
		return 0, fmt.Errorf("read the file system in %s: %w", dev, err)
	}
	size, ok := probe.ExtSize(b)
	if !ok {
		return 0, fmt.Errorf("%w: volume %s holds no ext2/3/4 file system: in-place decrypt needs one; nothing was written", fail.ErrRefused, dev)
	}
	return size, nil
}

// closeTransition closes a transition's mapping and drops its key.
func (m *Manager) closeTransition(u *undoStack, mp directDev, name, desc string) error {
	mp.Close()
	if err := m.removeMapping(name); err != nil {
		return fmt.Errorf("remove mapping %s: %w", name, err)
	}
	u.drop(undoRemoveMapping)
	if err := m.unlinkLeftover(desc, m.cfg.Keyring); err != nil {
		return err
	}
	u.drop(undoUnlinkKey)
	return nil
}
