// Package atomicfile writes files so that a crash or power cut at any moment
// leaves either the old file or the complete new one, never a torn file:
// the data goes to a temporary file in the same directory, is fsynced,
// renamed over the target, and the directory is fsynced so the rename
// itself is durable.
//
// Key blobs are the only way back to an encrypted volume's data; losing one
// to a half-written file loses the volume (docs/caam-abi.md §9).
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrExists is returned by Create when the target already exists.
var ErrExists = fs.ErrExist

// hooks lets tests stop a write between its steps; nil in production.
var beforeRename func(tmp string) error

// Write atomically replaces (or creates) path with data and mode perm.
// A symlink at path is never followed: it is replaced like any other file.
func Write(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, false)
}

// Create atomically creates path with data and mode perm, failing with an
// error wrapping ErrExists if path exists in any form (file, directory,
// dangling symlink). Creation is exclusive even against a concurrent writer:
// the final step is a link(2), which fails if the name was taken meanwhile.
func Create(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

func write(path string, data []byte, perm fs.FileMode, exclusive bool) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if exclusive {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s: %w", path, ErrExists)
		}
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if beforeRename != nil {
		if err = beforeRename(tmp); err != nil {
			return err
		}
	}
	if exclusive {
		// link(2) fails with EEXIST instead of replacing: no window in
		// which a concurrent writer's file could be overwritten.
		if err = os.Link(tmp, path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				err = fmt.Errorf("%s: %w", path, ErrExists)
			}
			return err
		}
		if rmErr := os.Remove(tmp); rmErr != nil {
			return fmt.Errorf("remove %s: %w", tmp, rmErr)
		}
	} else if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, path, err)
	}
	return SyncDir(dir)
}

// SyncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a power cut.
func SyncDir(dir string) error {
	d, err := os.OpenFile(dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
