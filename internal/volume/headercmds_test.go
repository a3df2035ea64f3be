package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

func TestHeaderBackupRestore(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	v, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Label: "data", FS: FSNone})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(w.dir, "data.hdr")
	if _, err := m.HeaderBackup(dev, file); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v; want mode 0600", st, err)
	}
	if _, err := m.HeaderBackup(dev, file); !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("second backup to the same file = %v, want refused", err)
	}
	info, _, err := m.HeaderDump(dev)
	if err != nil || info.UUID != v.UUID || info.Label != "data" {
		t.Fatalf("HeaderDump = %+v, %v", info, err)
	}

	// Both copies destroyed: open fails, restore brings the volume back.
	f, _ := os.OpenFile(dev, os.O_WRONLY, 0)
	f.WriteAt(make([]byte, 128<<10), 0)
	f.Close()
	if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"}); !errors.Is(err, fail.ErrNotFound) {
		t.Fatalf("open without header = %v, want not found", err)
	}
	if _, err := m.HeaderRestore(dev, file, false); err != nil {
		t.Fatalf("restore onto a device without header: %v", err)
	}
	if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"}); err != nil {
		t.Fatalf("open after restore: %v", err)
	}
	if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
		t.Fatal(err)
	}

	// Another volume's header is not replaced without force.
	other := w.disk("vdc", diskSize)
	formatClosed(t, m, FormatOptions{Device: other, Name: "other", FS: FSNone})
	before := sum(t, other)
	if _, err := m.HeaderRestore(other, file, false); !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("restore over another volume's header = %v, want refused", err)
	}
	if sum(t, other) != before {
		t.Fatal("refused restore changed the device")
	}
	if _, err := m.HeaderRestore(other, file, true); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
}

// A device without any caamcrypt header that holds a filesystem is most
// likely the wrong device: restore must not write over it without --force.
func TestHeaderRestoreRefusesDeviceHoldingData(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	dev := w.disk("vdb", diskSize)
	formatClosed(t, m, FormatOptions{Device: dev, Name: "data", FS: FSNone})
	file := filepath.Join(w.dir, "data.hdr")
	if _, err := m.HeaderBackup(dev, file); err != nil {
		t.Fatal(err)
	}
	// An ext2 superblock: magic 0xEF53 at byte 1024+56.
	wrong := w.disk("sdb", diskSize)
	f, err := os.OpenFile(wrong, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0x53, 0xef}, 1024+56)
	f.Close()
	before := sum(t, wrong)
	_, err = m.HeaderRestore(wrong, file, false)
	if !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), "ext2 filesystem") {
		t.Fatalf("restore onto a device holding a filesystem = %v, want refused naming it", err)
	}
	if sum(t, wrong) != before {
		t.Fatal("refused restore changed the device")
	}
	if _, err := m.HeaderRestore(wrong, file, true); err != nil {
		t.Fatalf("forced restore: %v", err)
	}
	// A plain volume is ciphertext without signatures; when it is open, its
	// holder still shows that the device is somebody's.
	open := w.disk("sdc", diskSize)
	w.devices.inUse[open] = []probe.Finding{{Kind: probe.KindHolder, Detail: `used by device-mapper mapping "logs" (dm-0)`}}
	before = sum(t, open)
	if _, err := m.HeaderRestore(open, file, false); !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), `"logs"`) {
		t.Fatalf("restore onto a headerless device in use = %v, want refused naming the holder", err)
	}
	if sum(t, open) != before {
		t.Fatal("refused restore changed the device")
	}
}
