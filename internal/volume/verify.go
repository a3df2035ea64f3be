package volume

import (
	"bytes"
	"fmt"
	"syscall"

	"github.com/caamcrypt/caamcrypt/internal/header"
)

// verifyHeaderOnDevice reads both header copies of dev back from the device
// itself, past the page cache, and compares them with h as written. A
// device that acknowledges writes and drops them (failing flash, a
// dm-flakey drop_writes target in the tests) would otherwise let format and
// header restore report success with nothing on the medium, to be found
// only at the next boot.
func (m *Manager) verifyHeaderOnDevice(dev string, h *header.Header) error {
	want, err := h.Marshal()
	if err != nil {
		return err
	}
	for i, off := range header.CopyOffsets {
		got, err := m.d.devices.ReadDirect(dev, off, header.CopySize)
		if err != nil {
			return fmt.Errorf("read back header copy %d of %s: %w", i+1, dev, err)
		}
		if !bytes.Equal(got, want) {
			// EIO: the device failed to store what it acknowledged, an I/O
			// error the kernel did not report.
			return fmt.Errorf("%s did not keep the header written to it (copy %d reads back different from the device: "+
				"it drops or corrupts writes; use another device): %w", dev, i+1, syscall.EIO)
		}
	}
	m.log.WithField("device", dev).Debug("header read back from the device")
	return nil
}
