package volume

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A device that accepts writes and keeps none: format fails, rolls back,
// and says so, instead of reporting a volume that is not on the medium.
func TestFormatOnDeviceThatDropsWrites(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	dev := w.disk("vdb", diskSize)
	w.devices.dropsWrites = true
	_, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "data", FS: FSNone})
	if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "did not keep the header") {
		t.Fatalf("Format on a device that drops writes = %v, want the read-back failure as an I/O error", err)
	}
	w.requireNothingLeft(t)
}

// header restore reads the copies back from the device too.
func TestHeaderRestoreOnDeviceThatDropsWrites(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	dev := w.disk("vdb", diskSize)
	formatClosed(t, m, FormatOptions{Device: dev, Name: "data", FS: FSNone})
	file := filepath.Join(w.dir, "data.hdr")
	if _, err := m.HeaderBackup(dev, file); err != nil {
		t.Fatal(err)
	}
	if _, err := m.HeaderRestore(dev, file, false); err != nil {
		t.Fatalf("restore onto a good device: %v", err)
	}
	w.devices.dropsWrites = true
	if _, err := m.HeaderRestore(dev, file, false); err == nil || !strings.Contains(err.Error(), "did not keep the header") {
		t.Fatalf("restore onto a device that drops writes = %v, want the read-back failure", err)
	}
}
