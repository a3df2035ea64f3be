package volume

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/inplace"
	"github.com/caamcrypt/caamcrypt/internal/testpause"
)

// Mappings of the in-place transitions: named after the volume, never the
// volume's own name (nothing may mount a half-moved file system), with a
// dm UUID that status does not take for an open volume.
const (
	xferPrefix     = "caamcrypt-xfer-" // the target (or, decrypt, the source) mapping
	xoldPrefix     = "caamcrypt-xold-" // reencrypt: the old key's mapping
	xferUUIDPrefix = "CAAMCRYPT-XFER-"
	// EncryptShift is the payload offset encrypt gives a volume: 4 MiB, so
	// the data moves in 4 MiB chunks (two flushes each); the file system
	// gives up this much plus the 64 KiB of the record.
	EncryptShift = 4 << 20
	// reencryptChunk is the chunk of a reencrypt (four flushes each); the
	// journal of 16 bytes per sector bounds it too.
	reencryptChunk = 4 << 20
)

// xferName and xoldName name a transition's mappings after the volume
// UUID in its record, the same in every run that resumes it.
func xferName(h *header.Header) string { return xferPrefix + h.UUID.String() }
func xoldName(h *header.Header) string { return xoldPrefix + h.UUID.String() }

// xferUUID is the dm UUID of a transition mapping called name.
func xferUUID(name string) string { return xferUUIDPrefix + name }

// removeXferLeftovers removes the transition mappings over dev a killed
// run left (open count 0) and their keys: a resume makes them again.
// Other mappings of dev are left for the caller's in-use check.
func (m *Manager) removeXferLeftovers(dev string) error {
	maps, err := m.mappingsOf(dev)
	if err != nil {
		return err
	}
	for _, n := range maps {
		if !strings.HasPrefix(n, xferPrefix) && !strings.HasPrefix(n, xoldPrefix) {
			continue
		}
		info, err := m.d.mapper.Info(n)
		if err != nil || !info.Exists || info.OpenCount != 0 {
			continue // in use: a live run; the in-use check refuses
		}
		m.log.WithField("mapping", n).Warn("removing the mapping an interrupted transition left")
		if err := m.removeMapping(n); err != nil {
			return fmt.Errorf("remove leftover mapping %s: %w", n, err)
		}
		if err := m.unlinkLeftover(keyDescription(n), m.cfg.Keyring); err != nil {
			return err
		}
		m.removeStaleCheck(n)
	}
	return nil
}

// mapTransition loads key black (from blob source) into the keyring and
// maps spec under name; the undo stack drops both. It returns the
// O_DIRECT descriptor of the mapping.
func (m *Manager) mapTransition(u *undoStack, name, dmUUID string, black []byte, spec cryptSpec) (directDev, error) {
	if err := m.unlinkLeftover(spec.KeyDesc, m.cfg.Keyring); err != nil {
		return nil, err
	}
	if _, err := m.loadKey(u, spec.KeyDesc, black, m.cfg.Keyring); err != nil {
		return nil, err
	}
	t, err := spec.target()
	if err != nil {
		return nil, err
	}
	if err := m.createMapping(u, name, t, dm.CreateOptions{UUID: dmUUID}); err != nil {
		return nil, err
	}
	node := m.d.mapper.NodePath(name)
	f, err := openDirect(node)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", node, err)
	}
	return f, nil
}

// move runs the chunk loop and reports how long it took.
func (m *Manager) move(ctx context.Context, mv *inplace.Mover, r *inplace.Record) (time.Duration, error) {
	mv.Pause = testpause.Point
	start := time.Now()
	err := mv.Run(ctx, r)
	return time.Since(start), err
}

// zeroRange writes zeros over [from, to) of raw through its O_DIRECT
// descriptor and syncs.
func zeroRange(raw directDev, from, to int64) error {
	const step = 256 << 10
	buf := inplace.AlignedBuf(step)
	for off := from; off < to; off += step {
		n := min(step, to-off)
		if _, err := raw.WriteAt(buf[:n], off); err != nil {
			return fmt.Errorf("zero bytes %d..%d: %w", off, off+n, err)
		}
	}
	return raw.Sync()
}

// alignedCopy returns b in a buffer aligned for O_DIRECT.
func alignedCopy(b []byte) []byte {
	buf := inplace.AlignedBuf(len(b))
	copy(buf, b)
	return buf
}

// readDirectAt reads n bytes at off through an O_DIRECT descriptor.
func readDirectAt(f directDev, off int64, n int) ([]byte, error) {
	buf := inplace.AlignedBuf(n)
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// beginTransition resolves device, takes its lock (the caller runs
// unlock) and reads its transition record: nil when none, refused when it
// is another direction's.
func (m *Manager) beginTransition(ctx context.Context, device string, dir inplace.Direction) (dev string, size int64,
	rec *inplace.Record, unlock func(), err error) {
	if dev, err = m.d.devices.Resolve(device); err != nil {
		return "", 0, nil, nil, err
	}
	if size, err = m.d.devices.Size(dev); err != nil {
		return "", 0, nil, nil, fmt.Errorf("size of %s: %w", dev, err)
	}
	// Another direction's record is refused before the lock (no lock
	// directory needed to hear it), and read again under the lock.
	if rec, err = m.readTransitionAt(dev, size); err == nil && rec != nil && rec.Direction != dir {
		err = transitionError(dev, rec)
	}
	if err != nil {
		return "", 0, nil, nil, err
	}
	if unlock, err = m.lockDevice(ctx, dev); err != nil {
		return "", 0, nil, nil, err
	}
	rec, err = m.readTransitionAt(dev, size)
	if err == nil && rec != nil && rec.Direction != dir {
		err = transitionError(dev, rec)
	}
	if err != nil {
		unlock()
		return "", 0, nil, nil, err
	}
	return dev, size, rec, unlock, nil
}

// resumableDryRun is the dry run's answer on a device whose transition
// is under way.
func resumableDryRun(dev string, rec *inplace.Record) *TransitionResult {
	return &TransitionResult{Op: rec.Direction.String(), Device: dev, DryRun: true, Resumed: true,
		Notes: []string{fmt.Sprintf("a %s of %s is %d%% done: running it again goes on from there", rec.Direction, dev, rec.Percent())}}
}
