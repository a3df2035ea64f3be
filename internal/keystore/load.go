package keystore

import "fmt"

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
