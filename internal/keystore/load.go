package keystore

import (
	"fmt"
	"path/filepath"
	"strings"
)

// LoadBlob reads the blob of name (NAME.bb in the key directory).
func (s *Store) LoadBlob(name string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	b, err := readNoFollow(s.BlobPath(name))
	if err != nil {
		return nil, fmt.Errorf("read blob of key %q: %w", name, err)
	}
	return b, nil
}

// LoadKey reads the black key file of name.
func (s *Store) LoadKey(name string) ([]byte, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	if err := s.checkDir(); err != nil {
		return nil, err
	}
	b, err := readNoFollow(s.KeyPath(name))
	if err != nil {
		return nil, fmt.Errorf("read black key %q: %w", name, err)
	}
	return b, nil
}

// ReadFile reads a key or blob file given by path, without following a
// symlink at its last component.
func ReadFile(path string) ([]byte, error) {
	return readNoFollow(path)
}

// LoadBlobRef reads the blob a volume's key reference names: a key name
// (NAME.bb in the key directory), or an absolute path, as a caamtab key
// column may give, to a blob file (PATH) or to the black key file beside
// one (then PATH.bb, caam-keygen's layout).
func (s *Store) LoadBlobRef(ref string) ([]byte, error) {
	if !filepath.IsAbs(ref) {
		return s.LoadBlob(ref)
	}
	if !strings.HasSuffix(ref, BlobSuffix) {
		ref += BlobSuffix
	}
	b, err := readNoFollow(ref)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", ref, err)
	}
	return b, nil
}
