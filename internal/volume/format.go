package volume

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
)

// Format makes a new encrypted volume on o.Device and leaves it open
// (mapped, and mounted if o.Mount is set) so the caller can write to it.
//
// It refuses, unless o.Force, a device that holds a filesystem, partition
// table or caamcrypt header, and a plain volume whose reused key shows a
// filesystem through the new mapping. A device that is mounted, mapped or
// opened exclusively is refused even with Force. On failure every step is
// rolled back in reverse order; see the package comment for the one
// exception (a written header stays, marked unfinished:
// header.FlagFormatting, cleared as the last step, so the next open says
// "format did not finish" and the next format goes ahead without Force).
//
// Every check that needs no write (the mkfs tool, the device's size, what
// it holds) runs before the first byte is written. Between steps the
// operation stops when ctx ends (SIGINT, SIGTERM) and rolls back.
func (m *Manager) Format(ctx context.Context, o FormatOptions) (v *Volume, err error) {
	enc, err := o.normalize()
	if err != nil {
		return nil, err
	}
	if o.FS != FSNone {
		if err := m.d.fs.CheckMkfs(ctx, o.FS); err != nil {
			return nil, fmt.Errorf("%w; nothing was written", err)
		}
	}
	dev, err := m.d.devices.Resolve(o.Device)
	if err != nil {
		return nil, err
	}
	if o.Name == "" {
		o.Name = defaultName(o.Label, dev)
	}
	unlock, err := m.lockVolume(ctx, dev, o.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	log := m.log.WithField("device", dev).WithField("name", o.Name)
	if err := checkpoint(ctx, cpFormatLocked); err != nil {
		return nil, err
	}

	if err := m.refuseMapped(o.Name); err != nil {
		return nil, err
	}
	// Before the in-use check: a killed transition leaves its mapping, and
	// "in progress: run caamcrypt encrypt" is what the user must hear.
	if err := m.refuseTransitionAt(dev); err != nil && !o.Force {
		return nil, fmt.Errorf("%w; formatting would destroy its data (--force formats anyway)", err)
	}
	bd, err := m.openForFormat(dev, o.Force)
	if err != nil {
		return nil, err
	}
	closeDev := func() error {
		if bd == nil {
			return nil
		}
		e := bd.Close()
		bd = nil
		return e
	}
	defer closeDev()
	if unfinishedFormat(bd) {
		// Our own unfinished work (FlagFormatting): nothing was ever
		// stored on the volume, so going over it needs no --force.
		log.Warn("the device holds a caamcrypt header of a format that did not finish: formatting over it")
	} else if err := m.refuseContents(bd, dev, o.Force); err != nil {
		return nil, err
	}
	size, err := m.d.devices.Size(dev)
	if err != nil {
		return nil, fmt.Errorf("size of %s: %w", dev, err)
	}
	offset := int64(0)
	if o.Type == TypeCAAMCrypt {
		offset = header.DefaultPayloadOffset
	}
	if size-offset < int64(o.SectorSize) {
		return nil, fmt.Errorf("%w: %s is %d bytes: too small for a %s volume", fail.ErrUsage, dev, size, o.Type)
	}

	if err := m.caamPresent(); err != nil {
		return nil, fmt.Errorf("%w; nothing was written", err)
	}
	if err := m.d.kernel.CryptReady(DefaultCipher); err != nil {
		return nil, fmt.Errorf("%w; nothing was written", err)
	}

	// From here on things are made: record how to take each back.
	u := &undoStack{log: log}
	headerWritten := false
	defer func() {
		if err == nil {
			u.release()
			return
		}
		rerr := u.run(err)
		clean := rerr == err
		err = rerr
		if headerWritten && !clean {
			err = fmt.Errorf("%w (the header of this unfinished format stays on %s, marked unfinished; the rollback did not "+
				"finish: caamcrypt close %s removes the rest, then caamcrypt format goes over it without --force)", err, dev, o.Name)
		} else if headerWritten {
			err = fmt.Errorf("%w (the header of this unfinished format stays on %s, marked unfinished; nothing is "+
				"mapped and the key was dropped from the keyring: caamcrypt format goes over it without --force)", err, dev)
		}
	}()

	black, blob, keyName, err := m.formatKey(u, &o, enc)
	if err != nil {
		return nil, err
	}
	defer wipe(black)
	if err := checkpoint(ctx, cpFormatKey); err != nil {
		return nil, err
	}
	// The key goes into the keyring before the first write to the device,
	// so a full keyring quota (EDQUOT) refuses the format with the device
	// untouched; the undo stack unlinks it.
	ring := m.cfg.Keyring
	keyID, err := m.loadKey(u, keyDescription(o.Name), black, ring)
	if err != nil {
		return nil, err
	}
	if err := checkpoint(ctx, cpFormatLoaded); err != nil {
		return nil, err
	}
	id := uuid.New()
	var h *header.Header
	if o.Type == TypeCAAMCrypt {
		if h, err = newHeader(id, o, black, blob, offset); err != nil {
			return nil, err
		}
		h.Flags |= header.FlagFormatting
		headerWritten = true // from the first byte on: a failed write may leave part of it
		if err := header.Write(bd, h); err != nil {
			return nil, fmt.Errorf("write header to %s: %w", dev, err)
		}
		if err := bd.Sync(); err != nil {
			return nil, fmt.Errorf("sync header to %s: %w", dev, err)
		}
		log.WithField("uuid", id).Info("header written (marked unfinished until the format ends)")
		if err := checkpoint(ctx, cpFormatHeader); err != nil {
			return nil, err
		}
	}
	// dm-crypt claims the device exclusively: our O_EXCL descriptor must go.
	if err := closeDev(); err != nil {
		return nil, fmt.Errorf("close %s: %w", dev, err)
	}

	spec := cryptSpec{
		Cipher: DefaultCipher, KeyLen: len(black), KeyDesc: keyDescription(o.Name),
		Device: dev, Offset: offset, Length: size - offset, SectorSize: o.SectorSize,
	}
	if o.Type == TypeCAAMCrypt {
		if err := m.writeCheck(u, o.Name, id, spec); err != nil {
			return nil, err
		}
		if err := checkpoint(ctx, cpFormatChecked); err != nil {
			return nil, err
		}
	}
	t, err := spec.target()
	if err != nil {
		return nil, err
	}
	if err := m.createMapping(u, o.Name, t, dm.CreateOptions{UUID: mapUUID(o.Type, id, o.Name)}); err != nil {
		return nil, err
	}
	if o.Type == TypePlain && !o.Force {
		if err := m.refusePlainWithData(o.Name, dev, keyName); err != nil {
			return nil, err
		}
	}
	if !o.KeepKey {
		if err := m.unlinkKey(u, keyID, ring); err != nil {
			return nil, err
		}
	}
	if err := checkpoint(ctx, cpFormatMapped); err != nil {
		return nil, err
	}
	node := m.d.mapper.NodePath(o.Name)
	if o.Wipe {
		if err := m.wipeDevice(ctx, node, int64(t.Length)*512, o.Progress); err != nil {
			return nil, err
		}
	}
	if o.FS != FSNone {
		if err := m.d.fs.Mkfs(ctx, node, o.FS, o.Label); err != nil {
			if ctx.Err() != nil {
				err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
			}
			return nil, fmt.Errorf("make %s filesystem on %s: %w", o.FS, node, err)
		}
		if err := checkpoint(ctx, cpFormatMkfs); err != nil {
			return nil, err
		}
	}
	if o.Mount != "" {
		if err := m.mount(node, o.Mount, o.FS, false); err != nil {
			return nil, err
		}
		m.pushUnmount(u, o.Mount)
		if err := checkpoint(ctx, cpFormatMounted); err != nil {
			return nil, err
		}
	}
	if h != nil { // the last step: from here on the volume is finished
		if err := m.finishHeader(dev, h); err != nil {
			return nil, err
		}
	}
	v = &Volume{
		Name: o.Name, Type: o.Type, Device: dev, Node: node, Label: o.Label, Key: keyName,
		Cipher: spec.Cipher, SectorSize: o.SectorSize, Size: int64(t.Length) * 512, MountPoint: o.Mount,
	}
	if o.Type == TypeCAAMCrypt {
		v.UUID = id.String()
	}
	log.Info("volume formatted and open")
	return v, nil
}

// unfinishedFormat reports whether bd holds a valid caamcrypt header
// marked as written by a format that did not finish.
func unfinishedFormat(bd BlockDev) bool {
	h, _, err := header.Read(bd)
	return err == nil && h.Unfinished()
}

// finishHeader rewrites both header copies of dev without
// header.FlagFormatting: the format's last write. The device is mapped
// now, so it is opened without O_EXCL; the header area lies outside the
// payload, which the mapping covers. A power cut between the two copies
// leaves copy A finished and B unfinished; Read prefers A (FORMAT.md).
func (m *Manager) finishHeader(dev string, h *header.Header) error {
	bd, err := m.d.devices.Open(dev, true, false)
	if err != nil {
		return fmt.Errorf("open %s to finish its header: %w", dev, err)
	}
	defer bd.Close()
	done := *h
	done.Flags &^= header.FlagFormatting
	if err := header.Write(bd, &done); err != nil {
		return fmt.Errorf("finish header of %s: %w", dev, err)
	}
	if err := bd.Sync(); err != nil {
		return fmt.Errorf("sync header of %s: %w", dev, err)
	}
	if err := bd.Close(); err != nil {
		return fmt.Errorf("close %s: %w", dev, err)
	}
	if err := m.verifyHeaderOnDevice(dev, &done); err != nil {
		return err
	}
	m.log.WithField("device", dev).Debug("header marked finished")
	return nil
}
