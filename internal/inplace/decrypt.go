package inplace

import (
	"context"
	"fmt"
)

// decrypt moves the file system down by Shift bytes out of the mapping,
// from its start: logical [P, b) of the mapping (raw [P+Shift, b+Shift))
// is written plain to raw [P, b). With Chunk <= Shift the target holds
// only what was already moved (or the header, which the record replaces)
// and does not overlap the source. The first block goes down with its
// magic zeroed (the record keeps the real one until Finish).
func (m *Mover) decrypt(ctx context.Context, r *Record) error {
	if uint64(r.Chunk) > r.Shift {
		return fmt.Errorf("decrypt: chunk %d larger than the shift %d would overwrite unmoved data", r.Chunk, r.Shift)
	}
	buf := AlignedBuf(int(r.Chunk))
	for r.Progress < r.Total {
		if err := stopped(ctx, r); err != nil {
			return err
		}
		p := r.Progress
		e := min(r.Total, p+uint64(r.Chunk))
		b := buf[:e-p]
		if _, err := m.Map.ReadAt(b, int64(p)); err != nil {
			return fmt.Errorf("decrypt: read bytes %d..%d through the mapping: %w", p, e, err)
		}
		if p == 0 {
			copy(b, ZeroExtMagic(b[:BlockSize]))
		}
		if _, err := m.Raw.WriteAt(b, int64(p)); err != nil {
			return fmt.Errorf("decrypt: write raw bytes %d..%d: %w", p, e, err)
		}
		if err := m.Raw.Sync(); err != nil {
			return fmt.Errorf("decrypt: flush the device: %w", err)
		}
		if err := m.advance(ctx, r, PauseDecryptChunk, e); err != nil {
			return err
		}
	}
	return nil
}

// FinishDecrypt writes the real first block of the file system (kept in
// the record) and clears the record: from here the raw device is the
// plain file system again. Safe to repeat after a crash.
func FinishDecrypt(raw Dev, log *Log, r *Record) error {
	if r.Direction != Decrypt || !r.Done() {
		return fmt.Errorf("the %s is not finished (%d%%)", r.Direction, r.Percent())
	}
	b := AlignedBuf(BlockSize)
	copy(b, r.First)
	if _, err := raw.WriteAt(b, 0); err != nil {
		return fmt.Errorf("write the file system's first block: %w", err)
	}
	if err := raw.Sync(); err != nil {
		return fmt.Errorf("flush the file system's first block: %w", err)
	}
	return log.Clear()
}
