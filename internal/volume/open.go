package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
)

// Open maps a volume and, with o.Mount, checks and mounts its filesystem.
//
// Opening a volume that is already open over the same device succeeds and
// changes nothing (it mounts only if asked and not mounted there). For a
// caamcrypt volume the key is verified through the key-check area before
// the payload is mapped: a stale key or foreign blob fails with
// fail.ErrWrongKey and leaves nothing mapped. Any failure undoes every step.
func (m *Manager) Open(ctx context.Context, o OpenOptions) (v *Volume, err error) {
	ring, err := o.normalize(m.cfg.Keyring)
	if err != nil {
		return nil, err
	}
	if o.Device == "" {
		return m.openByName(o)
	}
	dev, err := m.d.devices.Resolve(o.Device)
	if err != nil {
		return nil, err
	}
	var h *header.Header
	var damaged bool
	if o.Type == TypeCAAMCrypt {
		if h, damaged, err = m.readHeader(dev); err != nil {
			return nil, err
		}
		if h.Unfinished() {
			return nil, fmt.Errorf("%w: the format of %s did not finish (or is still running): the volume holds no data; "+
				"run caamcrypt format %s again (no --force needed)", fail.ErrRefused, dev, dev)
		}
	} else if err := m.refuseHeaderForPlain(dev); err != nil {
		return nil, err
	}
	if o.Name == "" {
		label := ""
		if h != nil {
			label = h.Label
		}
		o.Name = defaultName(label, dev)
	}
	unlock, err := m.lockVolume(ctx, dev, o.Name)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := checkpoint(ctx, cpOpenLocked); err != nil {
		return nil, err
	}
	if damaged {
		m.repairDamagedCopy(dev, o.ReadOnly)
	}

	want := expectedLayout(o, h)
	if v, done, err := m.alreadyOpen(o, dev, &want); done || err != nil {
		if err == nil && !o.KeepKey {
			// An open killed between loading the table and unlinking the
			// key left the mapping (found here) and the key: this open,
			// which did not ask to keep the key, drops it.
			if err := m.unlinkLeftover(keyDescription(o.Name), ring); err != nil {
				return nil, err
			}
		}
		return v, err
	}
	if maps, err := m.mappingsOf(dev); err != nil {
		return nil, err
	} else if len(maps) > 0 {
		return nil, fmt.Errorf("%w: %s is already open as %s; close it first or open it under that name",
			fail.ErrRefused, dev, strings.Join(maps, ", "))
	}
	size, err := m.d.devices.Size(dev)
	if err != nil {
		return nil, fmt.Errorf("size of %s: %w", dev, err)
	}

	// A killed open may have left this volume's key in the keyring (close
	// drops it too); a new one is added below, so drop the old one first.
	if err := m.unlinkLeftover(keyDescription(o.Name), ring); err != nil {
		return nil, err
	}
	u := &undoStack{log: m.log.WithField("device", dev).WithField("name", o.Name)}
	defer func() {
		if err != nil {
			err = u.run(err)
		} else {
			u.release()
		}
	}()

	black, spec, id, keyName, err := m.openKey(o, dev, h, size)
	if err != nil {
		return nil, err
	}
	defer wipe(black)
	keyID, err := m.loadKey(u, spec.KeyDesc, black, ring)
	if err != nil {
		return nil, err
	}
	if err := checkpoint(ctx, cpOpenKeyLoaded); err != nil {
		return nil, err
	}
	if o.Type == TypeCAAMCrypt {
		if err := m.verifyCheck(u, o.Name, id, spec); err != nil {
			return nil, err
		}
		if err := checkpoint(ctx, cpOpenChecked); err != nil {
			return nil, err
		}
	}
	t, err := spec.target()
	if err != nil {
		return nil, err
	}
	if err := m.createMapping(u, o.Name, t, dm.CreateOptions{UUID: mapUUID(o.Type, id, o.Name), ReadOnly: o.ReadOnly}); err != nil {
		return nil, err
	}
	if !o.KeepKey {
		if err := m.unlinkKey(u, keyID, ring); err != nil {
			return nil, err
		}
	}
	if err := checkpoint(ctx, cpOpenMapped); err != nil {
		return nil, err
	}
	node := m.d.mapper.NodePath(o.Name)
	if o.Mount != "" {
		if err := m.checkAndMount(ctx, node, o.Mount, o.ReadOnly); err != nil {
			return nil, err
		}
		m.pushUnmount(u, o.Mount)
		if err := checkpoint(ctx, cpOpenMounted); err != nil {
			return nil, err
		}
	}
	v = &Volume{
		Name: o.Name, Type: o.Type, Device: dev, Node: node, Key: keyName, Cipher: spec.Cipher,
		SectorSize: spec.SectorSize, Size: int64(t.Length) * 512, ReadOnly: o.ReadOnly, MountPoint: o.Mount,
	}
	if h != nil {
		v.UUID, v.Label = h.UUID.String(), h.Label
	}
	m.log.WithField("name", o.Name).WithField("device", dev).Info("volume open")
	return v, nil
}

// openKey imports the volume key and returns it with the table spec of the
// payload. The caller wipes black.
func (m *Manager) openKey(o OpenOptions, dev string, h *header.Header, size int64) (black []byte, spec cryptSpec, id uuid.UUID, keyName string, err error) {
	if h == nil { // plain: the seed's layout, key from <keydir>/<key>.bb
		keyName = o.Key
		if keyName == "" {
			keyName = o.Name
		}
		blob, err := m.d.store.LoadBlob(keyName)
		if err != nil {
			return nil, spec, id, "", fmt.Errorf("load blob of key %q for %s: %w", keyName, dev, err)
		}
		if black, err = m.importBlob(blob, "key file "+keyName+".bb"); err != nil {
			return nil, spec, id, "", err
		}
		spec = cryptSpec{Cipher: o.Cipher, KeyLen: len(black), KeyDesc: keyDescription(o.Name),
			Device: dev, Length: size, SectorSize: o.SectorSize, Discard: o.Discard}
		return black, spec, id, keyName, nil
	}
	if black, err = m.importBlob(h.Blob, "the header of "+dev); err != nil {
		return nil, spec, id, "", err
	}
	if len(black) != int(h.KeyLen) {
		n := len(black)
		wipe(black)
		return nil, spec, id, "", fmt.Errorf("%w: the blob in the header of %s gave a %d-byte black key, the header records %d: "+
			"header or blob altered", fail.ErrWrongKey, dev, n, h.KeyLen)
	}
	length := size - int64(h.PayloadOffset)
	if h.PayloadSize != 0 {
		if int64(h.PayloadOffset+h.PayloadSize) > size {
			wipe(black)
			return nil, spec, id, "", fmt.Errorf("%w: %s is %d bytes, smaller than the volume its header describes (%d): "+
				"wrong device or truncated image", fail.ErrRefused, dev, size, h.PayloadOffset+h.PayloadSize)
		}
		length = int64(h.PayloadSize)
	}
	spec = cryptSpec{Cipher: h.Cipher, KeyLen: len(black), KeyDesc: keyDescription(o.Name),
		Device: dev, Offset: int64(h.PayloadOffset), Length: length, SectorSize: int(h.SectorSize), Discard: o.Discard}
	return black, spec, h.UUID, "", nil
}

// readHeader reads the header of a caamcrypt volume and classifies
// failures; damaged says a copy is damaged or differs (the caller repairs it
// under the volume lock).
func (m *Manager) readHeader(dev string) (h *header.Header, damaged bool, err error) {
	bd, err := m.d.devices.Open(dev, false, false)
	if err != nil {
		return nil, false, deviceOpenError(dev, err)
	}
	defer bd.Close()
	if err := m.refuseTransition(bd, dev); err != nil {
		return nil, false, err
	}
	h, rep, err := header.Read(bd)
	if err != nil {
		return nil, false, classifyHeaderErr(dev, err)
	}
	return h, rep.Damaged(), nil
}

// refuseHeaderForPlain refuses to open a caamcrypt volume as plain: the
// plain layout would map the header as data and decrypt garbage.
func (m *Manager) refuseHeaderForPlain(dev string) error {
	bd, err := m.d.devices.Open(dev, false, false)
	if err != nil {
		return deviceOpenError(dev, err)
	}
	defer bd.Close()
	if header.Has(bd) {
		return fmt.Errorf("%w: %s has a caamcrypt header: open it without --type plain", fail.ErrRefused, dev)
	}
	return nil
}

// alreadyOpen handles an existing mapping named o.Name: over dev, and
// with the layout want when the caller knows it, it is the idempotent
// success (mounting if asked and not yet mounted there); over another
// device or with another layout it is refused.
func (m *Manager) alreadyOpen(o OpenOptions, dev string, want *layout) (*Volume, bool, error) {
	info, err := m.d.mapper.Info(o.Name)
	if err != nil {
		return nil, true, fmt.Errorf("look up mapping %s: %w", o.Name, err)
	}
	if !info.Exists {
		return nil, false, nil
	}
	mt, ok, err := m.cryptTable(o.Name)
	if err != nil {
		return nil, true, err
	}
	if !ok || !m.sameDevice(mt.Params.Device, dev) {
		return nil, true, fmt.Errorf("%w: a mapping named %s exists over another device; choose another --name or close it",
			fail.ErrRefused, o.Name)
	}
	if want != nil {
		if diff := want.differs(mt.Params); diff != "" {
			return nil, true, fmt.Errorf("%w: a mapping named %s exists over %s with another %s: it is not this volume "+
				"opened; close it (caamcrypt close %s) and open again", fail.ErrRefused, o.Name, dev, diff, o.Name)
		}
	}
	if info.ReadOnly != o.ReadOnly {
		m.log.WithField("name", o.Name).Warnf("volume is already open with read-only=%v; not changed", info.ReadOnly)
	}
	node := m.d.mapper.NodePath(o.Name)
	if o.Mount != "" {
		mps, err := m.d.mounter.MountPoints(node)
		if err != nil {
			return nil, true, err
		}
		if !slices.Contains(mps, o.Mount) {
			if err := m.checkAndMount(context.Background(), node, o.Mount, info.ReadOnly); err != nil {
				return nil, true, err
			}
		}
	}
	ss, _ := mt.Params.SectorSize()
	v := m.volumeOf(o.Name, info.UUID, mt)
	v.Device, v.SectorSize, v.ReadOnly, v.MountPoint, v.AlreadyOpen = dev, ss, info.ReadOnly, o.Mount, true
	m.log.WithField("name", o.Name).Info("volume already open")
	return v, true, nil
}

// openByName succeeds when the named volume is open (nothing to find it by
// otherwise: the CLI looks names up in the caamtab).
func (m *Manager) openByName(o OpenOptions) (*Volume, error) {
	if err := ValidName(o.Name); err != nil {
		return nil, err
	}
	info, err := m.d.mapper.Info(o.Name)
	if err != nil {
		return nil, fmt.Errorf("look up mapping %s: %w", o.Name, err)
	}
	if !info.Exists {
		return nil, fmt.Errorf("%w: volume %s is not open and no device was given", fail.ErrNotFound, o.Name)
	}
	mt, ok, err := m.cryptTable(o.Name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: mapping %s is not a dm-crypt volume", fail.ErrRefused, o.Name)
	}
	path := m.d.devices.PathOf(mt.Params.Device)
	if path == "" {
		path = mt.Params.Device
	}
	v, _, err := m.alreadyOpen(o, path, nil) // no header read: the mapping is taken as it is
	return v, err
}

// volumeOf describes an existing mapping.
func (m *Manager) volumeOf(name, dmUUID string, mt mappedTable) *Volume {
	v := &Volume{Name: name, Node: m.d.mapper.NodePath(name), Cipher: mt.Params.Cipher, Size: int64(mt.Length) * 512}
	if id, ok := parseMapUUID(dmUUID); ok {
		v.Type = id.Type
		if id.Type == TypeCAAMCrypt {
			v.UUID = id.UUID.String()
		}
	}
	return v
}

// deviceOpenError classifies a failure to open a volume's device: a missing
// device is "not found" (a disk that is not plugged in), anything else keeps
// its errno.
func deviceOpenError(dev string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: device %s does not exist: %w", fail.ErrNotFound, dev, err)
	}
	return fmt.Errorf("open %s: %w", dev, err)
}
