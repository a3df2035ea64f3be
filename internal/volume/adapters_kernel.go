package volume

import (
	"errors"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/keyring"
)

// dmMapper is Mapper over package dm (libdevmapper; it traces its calls).
type dmMapper struct{}

func (dmMapper) Create(name string, targets []dm.Target, opts dm.CreateOptions) error {
	return dm.Create(name, targets, opts)
}
func (dmMapper) Remove(name string, opts dm.RemoveOptions) error { return dm.Remove(name, opts) }
func (dmMapper) Info(name string) (dm.Info, error)               { return dm.GetInfo(name) }
func (dmMapper) Table(name string) ([]dm.Target, error)          { return dm.Table(name) }
func (dmMapper) List() ([]dm.DeviceEntry, error)                 { return dm.List() }
func (dmMapper) NodePath(name string) string                     { return dm.NodePath(name) }

// kernelKeyring is Keyring over package keyring (keyctl(2); it traces its
// calls with the payload redacted).
type kernelKeyring struct{}

// AddLogon adds the key and makes sure dm-crypt, which looks keys up with
// request_key in this process's keyrings, finds it: where the session
// keyring does not link @u (systemd KeyringMode=private) ring is linked
// into the session keyring (keyring.MakeVisible, docs/caam-abi.md §6).
func (kernelKeyring) AddLogon(desc string, payload []byte, ring keyring.Ring) (keyring.KeyID, error) {
	id, err := keyring.AddLogon(desc, payload, ring)
	if err != nil {
		return 0, err
	}
	if err := keyring.MakeVisible(id, ring, "logon", desc); err != nil {
		keyring.Unlink(id, ring)
		return 0, err
	}
	return id, nil
}

func (kernelKeyring) Search(keyType, desc string, ring keyring.Ring) (keyring.KeyID, error) {
	return keyring.Search(keyType, desc, ring)
}

// Unlink removes the key from ring and from the session keyring, where
// AddLogon may have linked it as well; not being linked there is fine.
func (kernelKeyring) Unlink(id keyring.KeyID, ring keyring.Ring) error {
	err := keyring.Unlink(id, ring)
	if ring != keyring.Session {
		if serr := keyring.Unlink(id, keyring.Session); serr != nil && !errors.Is(serr, keyring.ErrNotFound) && err == nil {
			return serr
		}
	}
	return err
}
