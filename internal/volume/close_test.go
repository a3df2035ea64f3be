package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

func TestCloseBusySaysWho(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	mnt := filepath.Join(w.dir, "mnt")
	if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Mount: mnt}); err != nil {
		t.Fatal(err)
	}
	w.mounter.busy = true
	err := m.Close(ctx, CloseOptions{Name: "data"})
	if !errors.Is(err, fail.ErrRefused) || !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "in use (") ||
		strings.Count(err.Error(), mnt) != 1 {
		t.Fatalf("Close of a busy mount = %v", err)
	}
	w.mounter.busy = false
	w.mapper.get("data").busy = true
	err = m.Close(ctx, CloseOptions{Name: "data"})
	if !errors.Is(err, fail.ErrRefused) || !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), "open count 1") {
		t.Fatalf("Close of a busy mapping = %v", err)
	}
	w.mapper.get("data").busy = false
	if err := m.Close(ctx, CloseOptions{Device: dev}); err != nil {
		t.Fatalf("Close by device: %v", err)
	}
	if got := w.mapper.names(); len(got) != 0 {
		t.Fatalf("mappings left: %v", got)
	}
}

func TestCloseDropsLeftoverKey(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", FS: FSNone, KeepKey: true}); err != nil {
		t.Fatal(err)
	}
	if n := w.ring.count(); n != 1 {
		t.Fatalf("KeepKey left %d keys, want 1", n)
	}
	st, err := m.Status(ctx, "data")
	if err != nil || len(st) != 1 || !st[0].KeyInKeyring {
		t.Fatalf("Status = %+v, %v; want key in keyring", st, err)
	}
	if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
		t.Fatal(err)
	}
	if n := w.ring.count(); n != 0 {
		t.Fatalf("close left %d keys", n)
	}
}

func TestStatus(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	mnt := filepath.Join(w.dir, "mnt")
	v, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Mount: mnt})
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.Status(ctx, "")
	if err != nil || len(st) != 1 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	s := st[0]
	if s.Name != "data" || s.Type != TypeCAAMCrypt || s.UUID != v.UUID || s.Device != dev || s.SectorSize != 4096 ||
		s.PayloadOffset != 1<<20 || s.Size != diskSize-(1<<20) || s.KeyInKeyring || s.KeySize != 52 ||
		!slices.Equal(s.MountPoints, []string{mnt}) || s.Cipher != DefaultCipher {
		t.Fatalf("Status = %+v", s)
	}
	if _, err := m.Status(ctx, "nope"); !errors.Is(err, fail.ErrNotFound) {
		t.Fatalf("Status of a closed volume = %v, want not found", err)
	}
}

// At shutdown systemd may unmount a volume between close's look at
// mountinfo and its umount(2), which then fails with EINVAL: close must
// still remove the mapping.
func TestCloseAfterConcurrentUnmount(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	mnt := filepath.Join(w.dir, "mnt")
	if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Mount: mnt}); err != nil {
		t.Fatal(err)
	}
	w.inject("umount "+mnt, os.NewSyscallError("umount", unix.EINVAL))
	// The other unmounter's work: gone from the kernel, while close's
	// umount(2) still fails.
	w.onCall = func(name string) {
		if name == "umount "+mnt {
			w.mu.Lock()
			delete(w.mounter.mounts, w.mapper.NodePath("data"))
			w.mu.Unlock()
		}
	}
	if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
		t.Fatalf("close after a concurrent unmount: %v", err)
	}
	if got := w.mapper.names(); len(got) != 0 {
		t.Fatalf("mapping left: %v", got)
	}
}
