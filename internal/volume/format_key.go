package volume

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/keystore"
)

// newHeader describes a new caamcrypt volume; the key's encryption and red
// length come from the blob's tag, so a reused key is recorded as it is.
func newHeader(id uuid.UUID, o FormatOptions, black, blob []byte, offset int64) (*header.Header, error) {
	obj, err := caamc.ParseObject(blob)
	if err != nil {
		return nil, fmt.Errorf("blob of the volume key: %w", err)
	}
	return &header.Header{
		UUID:          id,
		Label:         o.Label,
		Backend:       header.BackendCAAMBlob,
		Cipher:        DefaultCipher,
		KeyEnc:        obj.Encryption().String(),
		RedKeyLen:     obj.Tag.RedKeyLen,
		KeyLen:        uint32(len(black)),
		SectorSize:    uint32(o.SectorSize),
		PayloadOffset: uint64(offset),
		Created:       time.Now().UTC(),
		Blob:          blob,
	}, nil
}

// formatKey gets the key of a new volume: an existing key's blob imported
// again, or a new CAAM key (saved as files for plain volumes and when asked).
// keyName is the key file name used, "" when the key lives only in the header.
func (m *Manager) formatKey(u *undoStack, o *FormatOptions, enc caamc.Encryption) (black, blob []byte, keyName string, err error) {
	if o.Key != "" || o.Type == TypePlain {
		keyName = o.Key
		if keyName == "" {
			keyName = o.Name
		}
		blob, err = m.d.store.LoadBlob(keyName)
		switch {
		case err == nil:
			m.log.WithField("key", keyName).Info("reusing existing key")
			black, err = m.importBlob(blob, "key file "+keyName+".bb")
			return black, blob, keyName, err
		case !errors.Is(err, fail.ErrNotFound):
			return nil, nil, "", fmt.Errorf("load key %q: %w", keyName, err)
		case o.Type == TypeCAAMCrypt:
			return nil, nil, "", fmt.Errorf("key %q: %w (it is not in the key directory; leave out --key to make a new key)", keyName, err)
		}
	} else if o.SaveKey {
		keyName = o.Name
	}
	black, blob, err = m.d.keys.Create(enc, o.KeySize)
	if err != nil {
		return nil, nil, "", fmt.Errorf("create %d-byte %s CAAM key: %w", o.KeySize, enc, err)
	}
	if keyName != "" {
		if err := m.d.store.SaveNew(keyName, black, blob); err != nil {
			wipe(black)
			if errors.Is(err, keystore.ErrExists) {
				// Also what a run killed after saving its key leaves;
				// --key takes the saved key.
				return nil, nil, "", fmt.Errorf("save key %q: %w: give --key %s to put the volume on that key, or another --name",
					keyName, err, keyName)
			}
			return nil, nil, "", fmt.Errorf("save key %q: %w", keyName, err)
		}
		u.push(undoRemoveKeyFiles, func() error { return m.d.store.Remove(keyName) })
	}
	return black, blob, keyName, nil
}
