package volume

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// flockLocker is Locker over flock(2) on <dir>/<name>.lock. The lock goes
// with the descriptor, so a process killed with -9 releases it; the lock
// file itself stays (removing it would race with a waiter).
type flockLocker struct{ dir string }

func (l *flockLocker) Lock(ctx context.Context, name string) (func(), error) {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, lockDirError(fmt.Errorf("create lock directory %s: %w", l.dir, err))
	}
	path := filepath.Join(l.dir, name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, lockDirError(fmt.Errorf("open lock file %s: %w", path, err))
	}
	unlock := func() { f.Close() } // closing drops the flock
	err = flock(f, unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		return unlock, nil
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	logrus.WithField("pkg", "volume").WithField("lock", path).Info("another caamcrypt works on this volume; waiting for it")
	if ctx.Done() == nil {
		if err := flock(f, unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return unlock, nil
	}
	// flock(2) cannot be interrupted from Go: wait in a goroutine, and if
	// the context ends first, let that goroutine drop the lock it gets.
	done := make(chan error, 1)
	go func() { done <- flock(f, unix.LOCK_EX) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return unlock, nil
	case <-ctx.Done():
		go func() { <-done; f.Close() }()
		return nil, fmt.Errorf("waiting for lock %s: %w", path, context.Cause(ctx))
	}
}

// flock locks f, retrying when a signal interrupts the wait.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			logrus.WithFields(logrus.Fields{"pkg": "volume", "file": f.Name(), "how": how, "err": err}).Debug("flock")
			if err != nil {
				return os.NewSyscallError("flock", err)
			}
			return nil
		}
	}
}

// devLockPrefix starts the lock name of a backing device. '#' is not
// allowed in volume names (ValidName), so a device lock never shares its
// file with a volume's.
const devLockPrefix = "dev#"

// lockDevice takes the lock of the backing device dev, before the volume
// name's lock (always in that order, so the two cannot deadlock; close takes
// only the name's). The name lock alone let open or format of one device
// under two names both pass the "already mapped over this device" check
// and map it twice: two read-write views of one filesystem. The lock is
// keyed by the device number, so every path to one device (/dev/vdb,
// /dev/disk/by-label/...) takes the same lock; an image file, which has
// none, is keyed by its path.
func (m *Manager) lockDevice(ctx context.Context, dev string) (func(), error) {
	id, err := m.d.devices.ID(dev)
	if err != nil {
		return nil, fmt.Errorf("device number of %s: %w", dev, err)
	}
	if id == "" {
		sum := sha256.Sum256([]byte(dev))
		id = "file-" + hex.EncodeToString(sum[:8])
	}
	return m.d.locker.Lock(ctx, devLockPrefix+id)
}

// lockVolume checks name, takes the lock of dev and then the name's, and
// removes what a killed run of this volume left (removeLeftovers; no live
// run uses it while the name is locked). unlock releases both locks; seen
// is the list of device-mapper names taken under them (nil if unreadable),
// already without what was removed.
func (m *Manager) lockVolume(ctx context.Context, dev, name string) (unlock func(), seen dmSeen, err error) {
	if err := ValidName(name); err != nil {
		return nil, nil, err
	}
	unlockDev, err := m.lockDevice(ctx, dev)
	if err != nil {
		return nil, nil, err
	}
	unlockName, err := m.d.locker.Lock(ctx, name)
	if err != nil {
		unlockDev()
		return nil, nil, err
	}
	seen = m.listNames()
	m.removeLeftovers(name, seen)
	return func() { unlockName(); unlockDev() }, seen, nil
}

// lockDirError classifies a lock file that cannot be made: no writable
// /run (a read-only root without a tmpfs there) or not root is an
// environment that cannot run caamcrypt (fail.ErrNotReady); it happens
// before anything is written.
func lockDirError(err error) error {
	if errors.Is(err, unix.EROFS) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSPC) {
		return fmt.Errorf("%w: %w (needs a writable /run and root); nothing was changed", fail.ErrNotReady, err)
	}
	return err
}
