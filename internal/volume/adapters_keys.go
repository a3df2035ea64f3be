package volume

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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

// LoadBlob reads NAME.bb from the key directory, or, for an absolute path
// (a caamtab key column may give one), that blob file (PATH, or PATH.bb
// when PATH is the black key file beside it, caam-keygen's layout).
func (f *fileKeyStore) LoadBlob(name string) ([]byte, error) {
	if !filepath.IsAbs(name) {
		return f.s.LoadBlob(name)
	}
	if !strings.HasSuffix(name, keystore.BlobSuffix) {
		name += keystore.BlobSuffix
	}
	b, err := keystore.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", name, err)
	}
	return b, nil
}

// Remove deletes a key's two files; only used to roll back a SaveNew of
// the same run, so the files are the ones this run wrote.
func (f *fileKeyStore) Remove(name string) error {
	var errs []error
	for _, p := range []string{f.s.KeyPath(name), f.s.BlobPath(name)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
