package volume

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keyring"
)

// importBlob turns blob (from source, e.g. "the header of /dev/vdb") into a
// black key. A blob the CAAM rejects is a wrong key (fail.ErrWrongKey): it
// was sealed on another SoC (or before secure boot was closed) or was
// altered, and the CAAM's integrity check caught it (docs/caam-abi.md §2, §5).
func (m *Manager) importBlob(blob []byte, source string) ([]byte, error) {
	black, err := m.d.keys.Import(blob)
	if err == nil {
		return black, nil
	}
	if errors.Is(err, caamc.ErrBadTag) {
		return nil, fmt.Errorf("%w: blob in %s is not a valid CAAM blob (corrupt or not a blob): %w", fail.ErrWrongKey, source, err)
	}
	var ke *caamc.KernelError
	if errors.As(err, &ke) && ke.Op == "import" && !resourceErrno(ke.Errno) {
		return nil, fmt.Errorf("%w: blob in %s was made on another device or is corrupt: CAAM integrity check failed: %w",
			fail.ErrWrongKey, source, err)
	}
	return nil, fmt.Errorf("import blob from %s: %w", source, err)
}

// resourceErrno reports errnos of a failed IMPORT that say nothing about the
// blob (an I/O error or busy CAAM, out of memory, bad address, permissions,
// wrong device node): the CAAM refuses a blob with EINVAL (docs/caam-abi.md
// §2), so EIO must not make a right key "wrong".
func resourceErrno(e syscall.Errno) bool {
	switch e {
	case syscall.EIO, syscall.EBUSY, syscall.ENOMEM, syscall.EFAULT, syscall.ENOTTY, syscall.EPERM, syscall.EACCES, syscall.ENODEV, syscall.ENXIO, syscall.EINTR, syscall.EAGAIN:
		return true
	}
	return false
}

// loadKey adds black to the keyring under desc and records its unlink as
// an undo step. The caller wipes black.
func (m *Manager) loadKey(u *undoStack, desc string, black []byte, ring keyring.Ring) (keyring.KeyID, error) {
	id, err := m.d.ring.AddLogon(desc, black, ring)
	if err != nil {
		return 0, fmt.Errorf("add logon key %q to keyring %v: %w", desc, ring, err)
	}
	m.log.WithField("desc", desc).WithField("ring", ring).Debug("volume key loaded into keyring")
	u.push(undoUnlinkKey, func() error {
		if err := m.d.ring.Unlink(id, ring); err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return err
		}
		return nil // gone already: what the undo wanted
	})
	return id, nil
}

// unlinkKey drops the key from the keyring once dm-crypt holds its own copy
// (docs/caam-abi.md §6).
func (m *Manager) unlinkKey(u *undoStack, id keyring.KeyID, ring keyring.Ring) error {
	if err := m.d.ring.Unlink(id, ring); err != nil {
		return fmt.Errorf("unlink volume key %d from keyring %v: %w", id, ring, err)
	}
	u.drop(undoUnlinkKey)
	return nil
}

// unlinkLeftover removes a key of a volume from the keyring if one is
// there (KeepKey, or a killed run); a missing key is fine.
func (m *Manager) unlinkLeftover(desc string, ring keyring.Ring) error {
	id, err := m.d.ring.Search("logon", desc, ring)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("search keyring %v for %q: %w", ring, desc, err)
	}
	if err := m.d.ring.Unlink(id, ring); err != nil {
		return fmt.Errorf("unlink key %q from keyring %v: %w", desc, ring, err)
	}
	m.log.WithField("desc", desc).Debug("leftover volume key unlinked")
	return nil
}

// wipe overwrites key material in memory.
func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}

// Names of undo steps (also what the tests see).
const (
	undoUnlinkKey = "unlink key"
)
