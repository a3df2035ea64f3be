package volume

import (
	"context"
	"fmt"

	"github.com/caamcrypt/caamcrypt/internal/testpause"
)

// wipeChunk is the write size of a wipe: large enough for few requests,
// small enough for a smooth progress bar and quick cancellation.
const wipeChunk = 1 << 20

// wipeDevice fills size bytes of node with zeros. Written through the
// mapping they land on the device as ciphertext, so the old contents are
// gone and free space does not stand out from used space.
func (m *Manager) wipeDevice(ctx context.Context, node string, size int64, progress func(done, total int64)) error {
	bd, err := m.d.devices.Open(node, true, false)
	if err != nil {
		return fmt.Errorf("open %s for wiping: %w", node, err)
	}
	defer bd.Close()
	zeros := make([]byte, wipeChunk)
	for done := int64(0); done < size; {
		if done == wipeChunk { // one chunk written: the tests' point "during the wipe"
			testpause.Point(ctx, cpFormatWiping)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("wipe %s stopped at %d of %d bytes: %w", node, done, size, context.Cause(ctx))
		}
		n := int64(len(zeros))
		if size-done < n {
			n = size - done
		}
		if _, err := bd.WriteAt(zeros[:n], done); err != nil {
			return fmt.Errorf("wipe %s at byte %d: %w", node, done, err)
		}
		done += n
		if progress != nil {
			progress(done, size)
		}
	}
	if err := bd.Sync(); err != nil {
		return fmt.Errorf("sync %s after wiping: %w", node, err)
	}
	return bd.Close()
}
