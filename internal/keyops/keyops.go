// Package keyops carries out the `caamcrypt key` commands: create a black
// key and blob with CAAM, import a blob back into a black key, derive a key
// from a passphrase, and describe key files. It joins the CAAM binding
// (package caamc) to the key directory (package keystore) so that a key is
// either stored whole or not at all, and key material is wiped after use.
package keyops

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keystore"
)

// Keygen is what keyops needs of the CAAM: a caamc.Device, or a fake in tests.
type Keygen interface {
	Create(enc caamc.Encryption, spec caamc.KeySpec) (blackKey, blob []byte, err error)
	Import(blob []byte) (blackKey []byte, err error)
}

// Created describes a stored key.
type Created struct {
	KeyPath, BlobPath string
	KeyLen, BlobLen   int
	// Backup is the dated copy of a blob replaced with force, or "".
	Backup string
}

// Create makes a black key and blob with CAAM and stores them as name in
// store. Nothing is written unless CAAM succeeded; nothing is overwritten
// unless force.
func Create(kg Keygen, store *keystore.Store, name string, enc caamc.Encryption, spec caamc.KeySpec, force bool) (*Created, error) {
	if err := keystore.ValidName(name); err != nil {
		return nil, err
	}
	if !force {
		// Refuse before asking CAAM, so an existing name costs nothing.
		if err := store.RefuseExisting(name); err != nil {
			return nil, withForceHint(err)
		}
	}
	black, blob, err := kg.Create(enc, spec)
	if err != nil {
		return nil, fmt.Errorf("create %s key %q: %w", enc, name, err)
	}
	defer Wipe(black)
	backup, err := store.Save(name, black, blob, force)
	if err != nil {
		return nil, withForceHint(err)
	}
	return &Created{
		KeyPath: store.KeyPath(name), BlobPath: store.BlobPath(name),
		KeyLen: len(black), BlobLen: len(blob), Backup: backup,
	}, nil
}

// Import turns the blob at blobPath back into a black key valid for this
// boot and stores it as name (the black key file only, like caam-keygen).
func Import(kg Keygen, store *keystore.Store, blobPath, name string, force bool) (*Created, error) {
	if err := keystore.ValidName(name); err != nil {
		return nil, err
	}
	blob, err := keystore.ReadFile(blobPath)
	if err != nil {
		return nil, fmt.Errorf("read blob: %w", err)
	}
	if _, err := caamc.ParseObject(blob); err != nil {
		return nil, fmt.Errorf("%w: %s is not a tagged blob: %w", fail.ErrUsage, blobPath, err)
	}
	black, err := kg.Import(blob)
	if err != nil {
		return nil, importError(blobPath, err)
	}
	defer Wipe(black)
	if err := store.SaveKey(name, black, force); err != nil {
		return nil, withForceHint(err)
	}
	return &Created{KeyPath: store.KeyPath(name), KeyLen: len(black), BlobPath: blobPath, BlobLen: len(blob)}, nil
}

// withForceHint adds to a refusal of an existing key how the key commands
// replace one.
func withForceHint(err error) error {
	if errors.Is(err, keystore.ErrExists) {
		return fmt.Errorf("%w (use --force to replace it, keeping a dated copy of the old blob)", err)
	}
	return err
}

// Digest returns the hash constructor for a PBKDF2 digest name.
func Digest(name string) (func() hash.Hash, error) {
	switch strings.ToLower(name) {
	case "sha1":
		return sha1.New, nil
	case "sha224":
		return sha256.New224, nil
	case "sha256":
		return sha256.New, nil
	case "sha384":
		return sha512.New384, nil
	case "sha512":
		return sha512.New, nil
	}
	return nil, fmt.Errorf("%w: digest %q: want sha1, sha224, sha256, sha384 or sha512", fail.ErrUsage, name)
}

// Wipe overwrites key material in place.
func Wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
