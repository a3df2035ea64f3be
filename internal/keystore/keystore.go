// Package keystore keeps black key and blob files in the key directory, in
// the layout of NXP's caam-keygen (NAME holds the tagged black key,
// NAME.bb the tagged blob), so keys made by either tool work with both.
//
// Unlike caam-keygen it never overwrites a key or a blob unless forced, and
// then it first keeps a dated copy of the old blob: the blob is the only way
// back to an encrypted volume's data (docs/caam-abi.md §9). Files are
// written atomically, key 0600, blob 0400, directory 0700, and symlinks in
// the directory are never followed.
package keystore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode"

	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// File modes of the key directory and its files.
const (
	DirMode  fs.FileMode = 0o700
	KeyMode  fs.FileMode = 0o600
	BlobMode fs.FileMode = 0o400
)

// BlobSuffix is appended to a key's name for its blob file (caam-keygen's convention).
const BlobSuffix = ".bb"

// maxFileSize bounds what Load reads: tagged objects are a few hundred bytes.
const maxFileSize = 4096

// ErrExists is wrapped when a key or blob file is already there.
var ErrExists = errors.New("already exists")

// Store is a key directory.
type Store struct {
	Dir string
	// Now gives the time used to name backups; time.Now when nil.
	Now func() time.Time
}

// New returns the store for dir.
func New(dir string) *Store { return &Store{Dir: dir} }

// ValidName checks that name can be a key name: a plain file name, no path
// separators, no leading dot (hidden and temporary files), no control or
// space characters, not ending in the blob suffix, and not named like a
// dated blob backup.
func ValidName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: key name %q %s", fail.ErrUsage, name, why)
	}
	switch {
	case name == "":
		return bad("is empty")
	case len(name) > 200:
		return bad("is longer than 200 bytes")
	case strings.ContainsRune(name, '/'):
		return bad("contains a path separator; give a name, the key directory is set with --key-dir")
	case strings.HasPrefix(name, "."):
		return bad("starts with a dot")
	case strings.HasSuffix(name, BlobSuffix):
		return bad("ends in " + BlobSuffix + ", which is the blob file's suffix")
	case isBackupName(name):
		return bad("is the name of a dated blob backup (NAME" + BlobSuffix + ".<time>), which a key file must never replace")
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar {
			return bad("contains a space, control or invalid character")
		}
	}
	return nil
}

// isBackupName reports whether name has the form of a blob backup made by
// Save with force (NAME.bb.20260102T150405Z). A key of that name would have
// its key file at the backup's path, and a forced write would replace what
// may be the last copy of an old blob.
func isBackupName(name string) bool {
	i := strings.LastIndex(name, BlobSuffix+".")
	if i < 0 {
		return false
	}
	_, err := time.Parse(backupLayout, name[i+len(BlobSuffix)+1:])
	return err == nil
}

// KeyPath is the black key file of name.
func (s *Store) KeyPath(name string) string { return filepath.Join(s.Dir, name) }

// BlobPath is the blob file of name.
func (s *Store) BlobPath(name string) string { return filepath.Join(s.Dir, name+BlobSuffix) }

// ensureDir creates the key directory (mode 0700) if needed and checks
// that it is a directory only its owner can change (checkDir).
func (s *Store) ensureDir() error {
	if _, err := os.Lstat(s.Dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(s.Dir, DirMode); err != nil {
			return fmt.Errorf("create key directory %s: %w", s.Dir, err)
		}
	}
	return s.checkDir()
}

// checkDir refuses a key directory that others could change: a symlink
// (whoever can replace the link chooses where keys are written and read
// from), one writable by its group or by everyone (others could swap a blob
// or plant a link where a key will be written), or one owned by another
// user than the one running caamcrypt (or root). Only the directory itself
// is checked, not its parents (/data is often a link on embedded systems).
func (s *Store) checkDir() error {
	st, err := os.Lstat(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		// Not found, so a caller that makes a key when none is there
		// (format --type plain --key K on a new board) goes on to make it.
		return fmt.Errorf("%w: key directory %s: %w", fail.ErrNotFound, s.Dir, err)
	}
	if err != nil {
		return fmt.Errorf("key directory %s: %w", s.Dir, err)
	}
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%w: key directory %s is a symlink; give the real directory with --key-dir", fail.ErrRefused, s.Dir)
	case !st.IsDir():
		return fmt.Errorf("%w: key directory %s is not a directory", fail.ErrUsage, s.Dir)
	case st.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("%w: key directory %s is writable by group or others (mode %04o); make it 0700 with chmod 700 %s",
			fail.ErrRefused, s.Dir, st.Mode().Perm(), s.Dir)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		if uid := uint32(os.Geteuid()); sys.Uid != uid && sys.Uid != 0 {
			return fmt.Errorf("%w: key directory %s belongs to user %d, not to %d (or root)", fail.ErrRefused, s.Dir, sys.Uid, uid)
		}
	}
	return nil
}

// exists reports whether path exists in any form, without following a symlink.
func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	}
	return false, err
}

// refuseExisting returns an error naming the first of paths that exists.
func refuseExisting(paths ...string) error {
	for _, p := range paths {
		ok, err := exists(p)
		if err != nil {
			return fmt.Errorf("check %s: %w", p, err)
		}
		if ok {
			// How to replace it is the caller's to say (key create
			// --force; format and encrypt never replace a key).
			return fmt.Errorf("%w: %s %w; it is never overwritten", fail.ErrRefused, p, ErrExists)
		}
	}
	return nil
}

// RefuseExisting fails, wrapping fail.ErrRefused and ErrExists, if the blob
// or the black key file of name exists in any form. It only looks (lstat):
// it reads no key bytes and cannot block on a FIFO.
func (s *Store) RefuseExisting(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	return refuseExisting(s.BlobPath(name), s.KeyPath(name))
}

// readNoFollow reads a small regular file, refusing to follow a symlink.
// O_NONBLOCK keeps open(2) from waiting for a writer when path is a FIFO,
// which is then refused with any other non-regular file.
func readNoFollow(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%w: %s is a symlink; caamcrypt does not follow links in the key directory", fail.ErrRefused, path)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %w", fail.ErrNotFound, err)
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file (but a directory, FIFO, socket or device): give the path of a key or blob file", fail.ErrUsage, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a tagged key or blob", path, maxFileSize)
	}
	return b, nil
}
