package volume

import "github.com/caamcrypt/caamcrypt/internal/keyring"

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

// Unlink removes the key from ring. AddLogon links nothing else to the key
// (MakeVisible links ring itself into the session keyring), so no other
// link is left to remove.
func (kernelKeyring) Unlink(id keyring.KeyID, ring keyring.Ring) error {
	return keyring.Unlink(id, ring)
}
