package volume

import (
	"errors"

	"github.com/caamcrypt/caamcrypt/internal/keyring"
)

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
