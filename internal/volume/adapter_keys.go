package volume

import (
	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/keystore"
)

// caamKeySource is KeySource over the caam-keygen device. It opens the
// node for each call: a volume operation makes at most one or two calls,
// and no descriptor outlives the operation.
type caamKeySource struct{ path string }

func (k *caamKeySource) Create(enc caamc.Encryption, size int) (blackKey, blob []byte, err error) {
	d, err := caamc.Open(k.path)
	if err != nil {
		return nil, nil, err
	}
	defer d.Close()
	return d.Create(enc, caamc.KeySpec{Size: size})
}

func (k *caamKeySource) Import(blob []byte) ([]byte, error) {
	d, err := caamc.Open(k.path)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Import(blob)
}

// fileKeyStore is KeyStore over package keystore (caam-keygen's layout,
// atomic writes, never overwriting).
type fileKeyStore struct{ s *keystore.Store }

func newFileKeyStore(dir string) *fileKeyStore { return &fileKeyStore{s: keystore.New(dir)} }

func (f *fileKeyStore) SaveNew(name string, blackKey, blob []byte) error {
	_, err := f.s.Save(name, blackKey, blob, false)
	return err
}

// LoadBlob reads the blob a key reference names (keystore.LoadBlobRef).
func (f *fileKeyStore) LoadBlob(ref string) ([]byte, error) { return f.s.LoadBlobRef(ref) }

// Remove deletes a key's two files, to roll back a SaveNew of the same run.
func (f *fileKeyStore) Remove(name string) error { return f.s.Remove(name) }
