package inplace

import (
	"context"
	"errors"
	"fmt"
)

// Pause point names (package testpause; docs/contracts.md): after a
// chunk's data is written and flushed, before the record says so.
const (
	PauseEncryptChunk   = "encrypt-chunk"
	PauseDecryptChunk   = "decrypt-chunk"
	PauseReencryptChunk = "reencrypt-chunk"
	// PauseEncryptFinal: every byte is moved (record P == 0), the header
	// is not written yet.
	PauseEncryptFinal = "encrypt-final"
)

// ErrStopped: the context ended (SIGINT, SIGTERM) and the loop stopped
// between two chunks with the record durable.
var ErrStopped = errors.New("stopped")

// Mover runs one transition's chunk loop.
type Mover struct {
	Raw Dev // the raw device
	// Map is the mapping of the payload with the target key (encrypt,
	// reencrypt) or the volume's key (decrypt): logical 0 = raw Shift.
	Map Dev
	// Old is, for reencrypt, the mapping with the old key over the same range.
	Old Dev
	Log *Log
	// Pause is called at the pause points (testpause.Point); may be nil.
	Pause func(ctx context.Context, name string)
	// Progress gets the bytes moved so far and the total; may be nil.
	Progress func(done, total int64)
}

func (m *Mover) pause(ctx context.Context, name string) {
	if m.Pause != nil {
		m.Pause(ctx, name)
	}
}

func (m *Mover) progress(r *Record) {
	if m.Progress == nil {
		return
	}
	done := int64(r.Progress)
	if r.Direction == Encrypt {
		done = int64(r.Total - r.Progress)
	}
	m.Progress(done, int64(r.Total))
}

// advance ends a chunk whose data is durable: it pauses at point (a kill
// there leaves the chunk done on the device but not in the record, so the
// next run does it again), then records the new progress (a finished chunk
// needs no journal) and reports it.
func (m *Mover) advance(ctx context.Context, r *Record, point string, progress uint64) error {
	m.pause(ctx, point)
	r.Progress, r.JournalLen = progress, 0
	if err := m.Log.Write(r); err != nil {
		return err
	}
	m.progress(r)
	return nil
}

// stopped returns ErrStopped (with the cause) once ctx has ended.
func stopped(ctx context.Context, r *Record) error {
	if ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("%w at %d%% (%w): the record is on the device; run caamcrypt %s again to go on",
		ErrStopped, r.Percent(), context.Cause(ctx), r.Direction)
}

// Run moves the data of r from where its progress says to the end of the
// transition, updating the record after every chunk. It returns with the
// record durable: nil when all is moved (r.Done()), ErrStopped when ctx
// ended first, or the I/O error (the record then still describes a state
// from which a later run goes on).
func (m *Mover) Run(ctx context.Context, r *Record) error {
	switch r.Direction {
	case Encrypt:
		return m.encrypt(ctx, r)
	case Decrypt:
		return m.decrypt(ctx, r)
	case Reencrypt:
		return m.reencrypt(ctx, r)
	}
	return fmt.Errorf("transition record: unknown direction %d", r.Direction)
}

// ZeroExtMagic returns a copy of the first block of an ext2/3/4 file
// system with the superblock magic (0xEF53 at byte 1080) zeroed: while a
// transition runs, mount, blkid and fsck of the raw device must not find a
// half-moved file system.
func ZeroExtMagic(first []byte) []byte {
	b := append([]byte(nil), first...)
	if len(b) >= 1082 {
		b[1080], b[1081] = 0, 0
	}
	return b
}
