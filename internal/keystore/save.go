package keystore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/caamcrypt/caamcrypt/internal/atomicfile"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// backupLayout names a dated copy of a replaced blob: NAME.bb.20260102T150405Z.
const backupLayout = "20060102T150405Z"

// Save stores a new key: the blob as NAME.bb, then the black key as NAME.
// Without force it fails, touching nothing, if either file exists. With
// force it first copies an existing blob to a dated backup and reports its
// path. If writing the key fails after the blob was written, the blob step
// is undone, so the directory is as before.
func (s *Store) Save(name string, blackKey, blob []byte, force bool) (backup string, err error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	if err := s.ensureDir(); err != nil {
		return "", err
	}
	keyPath, blobPath := s.KeyPath(name), s.BlobPath(name)
	if !force {
		if err := refuseExisting(blobPath, keyPath); err != nil {
			return "", err
		}
		if err := atomicfile.Create(blobPath, blob, BlobMode); err != nil {
			return "", createErr("blob", blobPath, err)
		}
		if err := atomicfile.Create(keyPath, blackKey, KeyMode); err != nil {
			s.undo(blobPath, "")
			return "", createErr("black key", keyPath, err)
		}
		return "", nil
	}
	backup, err = s.backupBlob(blobPath)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(blobPath, blob, BlobMode); err != nil {
		return backup, keptBackup(fmt.Errorf("write blob %s: %w", blobPath, err), backup)
	}
	if err := atomicfile.Write(keyPath, blackKey, KeyMode); err != nil {
		s.undo(blobPath, backup)
		return backup, keptBackup(fmt.Errorf("write black key %s: %w", keyPath, err), backup)
	}
	return backup, nil
}

// keptBackup adds to a failed forced Save where the old blob was kept:
// callers drop the backup path on error, and the blob may have been
// replaced before the failure (e.g. the directory fsync after the rename).
func keptBackup(err error, backup string) error {
	if backup == "" {
		return err
	}
	return fmt.Errorf("%w (the previous blob is kept as %s)", err, backup)
}

// SaveKey stores a black key alone as NAME (what an import produces).
// Without force an existing file is never replaced. Black keys are only
// valid until the next power-on reset, so no backup is kept.
func (s *Store) SaveKey(name string, blackKey []byte, force bool) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if err := s.ensureDir(); err != nil {
		return err
	}
	keyPath := s.KeyPath(name)
	if !force {
		if err := refuseExisting(keyPath); err != nil {
			return err
		}
		if err := atomicfile.Create(keyPath, blackKey, KeyMode); err != nil {
			return createErr("black key", keyPath, err)
		}
		return nil
	}
	if err := atomicfile.Write(keyPath, blackKey, KeyMode); err != nil {
		return fmt.Errorf("write black key %s: %w", keyPath, err)
	}
	return nil
}

// createErr describes a failed exclusive create of the what file at path.
// Finding the name taken there means another writer created it after the
// first check: a refusal like that check's, not a generic failure.
func createErr(what, path string, err error) error {
	if errors.Is(err, atomicfile.ErrExists) {
		return fmt.Errorf("%w: %s %s appeared while this key was being written (another caamcrypt?); it is never overwritten: %w",
			fail.ErrRefused, what, path, ErrExists)
	}
	return fmt.Errorf("write %s %s: %w", what, path, err)
}

// backupBlob copies an existing blob to a dated backup file and returns its
// path, or "" when there is no blob to keep.
func (s *Store) backupBlob(blobPath string) (string, error) {
	old, err := readNoFollow(blobPath)
	if err != nil {
		if ok, _ := exists(blobPath); !ok {
			return "", nil
		}
		return "", fmt.Errorf("read old blob to back it up: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	backup := blobPath + "." + now().UTC().Format(backupLayout)
	if err := atomicfile.Create(backup, old, BlobMode); err != nil {
		if errors.Is(err, atomicfile.ErrExists) {
			// Backups are named to the second; an older one is never replaced.
			return "", fmt.Errorf("%w: back up old blob to %s: a backup of that name exists; retry in a second: %w",
				fail.ErrRefused, backup, err)
		}
		return "", fmt.Errorf("back up old blob to %s: %w", backup, err)
	}
	logrus.WithFields(logrus.Fields{"blob": blobPath, "backup": backup}).Info("kept a copy of the replaced blob")
	return backup, nil
}

// undo puts the blob directory back after a failed Save: the new blob is
// removed, or replaced by its backup when one was made.
func (s *Store) undo(blobPath, backup string) {
	var err error
	if backup == "" {
		err = os.Remove(blobPath)
	} else {
		var old []byte
		if old, err = readNoFollow(backup); err == nil {
			err = atomicfile.Write(blobPath, old, BlobMode)
		}
	}
	if err != nil {
		logrus.WithError(err).WithField("blob", blobPath).Error("could not undo the blob write")
	}
}

// Remove deletes the black key and blob files of name. It is for rolling
// back a Save of the same run only (a format that failed after saving its
// new key): the files are then the ones that run wrote. A file already
// gone is not an error.
func (s *Store) Remove(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	var errs []error
	for _, p := range []string{s.KeyPath(name), s.BlobPath(name)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}
