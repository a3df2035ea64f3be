package volume

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// flockLocker is Locker over flock(2) on <dir>/<name>.lock. The lock goes
// with the descriptor, so a process killed with -9 releases it; the lock
// file itself stays (removing it would race with a waiter).
type flockLocker struct{ dir string }

func (l *flockLocker) Lock(ctx context.Context, name string) (func(), error) {
	if err := os.MkdirAll(l.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create lock directory %s: %w", l.dir, err)
	}
	path := filepath.Join(l.dir, name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
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
		return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
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
