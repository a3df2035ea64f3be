package volume

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keyring"
)

// Status describes one open volume. It never holds key material: the key
// field of the table is a keyring reference, and only whether that key is
// still in the keyring is reported.
type Status struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"` // caamcrypt, plain, or "" for a crypt mapping caamcrypt did not make
	UUID          string   `json:"uuid,omitempty"`
	Node          string   `json:"node"`
	Device        string   `json:"device"`    // backing device path (or major:minor if unknown)
	DeviceID      string   `json:"device_id"` // as the kernel prints it
	Cipher        string   `json:"cipher"`
	KeySize       int      `json:"key_size"` // tagged black key bytes
	KeyInKeyring  bool     `json:"key_in_keyring"`
	SectorSize    int      `json:"sector_size"`
	PayloadOffset int64    `json:"payload_offset"` // bytes
	Size          int64    `json:"size"`           // bytes
	ReadOnly      bool     `json:"read_only"`
	Suspended     bool     `json:"suspended"`
	OpenCount     int32    `json:"open_count"`
	MountPoints   []string `json:"mount_points"`
}

// Status reports the named volume, or with name "" every dm-crypt mapping
// caamcrypt made. A named volume that is not open wraps fail.ErrNotFound.
func (m *Manager) Status(ctx context.Context, name string) ([]Status, error) {
	if name != "" {
		st, found, err := m.statusOf(name, true)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("%w: volume %s is not open", fail.ErrNotFound, name)
		}
		return []Status{st}, nil
	}
	entries, err := m.d.mapper.List()
	if err != nil {
		return nil, fmt.Errorf("list device-mapper devices: %w", err)
	}
	out := []Status{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name, checkPrefix) {
			continue
		}
		st, found, err := m.statusOf(e.Name, false)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, st)
		}
	}
	return out, nil
}

// statusOf describes one mapping. found is false when it does not exist,
// or (unless anyMapping) when it is not a caamcrypt mapping.
func (m *Manager) statusOf(name string, anyMapping bool) (Status, bool, error) {
	info, err := m.d.mapper.Info(name)
	if err != nil {
		return Status{}, false, fmt.Errorf("look up mapping %s: %w", name, err)
	}
	if !info.Exists {
		return Status{}, false, nil
	}
	ident, ours := parseMapUUID(info.UUID)
	if !ours && !anyMapping {
		return Status{}, false, nil
	}
	mt, ok, err := m.cryptTable(name)
	if errors.Is(err, dm.ErrNotFound) {
		return Status{}, false, nil
	}
	if err != nil {
		return Status{}, false, err
	}
	if !ok {
		return Status{}, false, fmt.Errorf("%w: mapping %s is not a dm-crypt volume", fail.ErrNotFound, name)
	}
	node := m.d.mapper.NodePath(name)
	st := Status{
		Name: name, Node: node, DeviceID: mt.Params.Device, Device: mt.Params.Device,
		Cipher: mt.Params.Cipher, PayloadOffset: int64(mt.Params.Offset) * 512, Size: int64(mt.Length) * 512,
		ReadOnly: info.ReadOnly, Suspended: info.Suspended, OpenCount: info.OpenCount, MountPoints: []string{},
	}
	if p := m.d.devices.PathOf(mt.Params.Device); p != "" {
		st.Device = p
	}
	st.SectorSize, _ = mt.Params.SectorSize()
	if k, err := dm.ParseKeyringKey(mt.Params.Key); err == nil {
		st.KeySize = k.Size
		_, serr := m.d.ring.Search(k.Type, k.Description, m.cfg.Keyring)
		st.KeyInKeyring = serr == nil
		if serr != nil && !errors.Is(serr, keyring.ErrNotFound) {
			m.log.WithError(serr).WithField("name", name).Debug("keyring search failed")
		}
	}
	if ours {
		st.Type = ident.Type
		if ident.Type == TypeCAAMCrypt {
			st.UUID = ident.UUID.String()
		}
	}
	if mps, err := m.d.mounter.MountPoints(node); err == nil {
		st.MountPoints = append(st.MountPoints, mps...)
	} else {
		m.log.WithError(err).WithField("node", node).Debug("mount points unknown")
	}
	return st, true, nil
}
