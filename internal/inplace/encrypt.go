package inplace

import (
	"context"
	"fmt"
)

// encrypt moves the plain file system up by Shift bytes into the mapping,
// from its end down: chunk [a, P) of the raw device is written to the
// mapping at logical a, i.e. raw [a+Shift, P+Shift). With Chunk <= Shift
// that target lies at or above P (plaintext already moved) and never
// overlaps the source, so a crash before the record update leaves the
// source intact and the chunk is simply done again.
func (m *Mover) encrypt(ctx context.Context, r *Record) error {
	if uint64(r.Chunk) > r.Shift {
		return fmt.Errorf("encrypt: chunk %d larger than the shift %d would overwrite unmoved data", r.Chunk, r.Shift)
	}
	buf := AlignedBuf(int(r.Chunk))
	for r.Progress > 0 {
		if err := stopped(ctx, r); err != nil {
			return err
		}
		p := r.Progress
		a := uint64(0)
		if p > uint64(r.Chunk) {
			a = p - uint64(r.Chunk)
		}
		b := buf[:p-a]
		if _, err := m.Raw.ReadAt(b, int64(a)); err != nil {
			return fmt.Errorf("encrypt: read raw bytes %d..%d: %w", a, p, err)
		}
		if a == 0 {
			// The raw first block has its magic zeroed; the real one is
			// in the record.
			copy(b, r.First)
		}
		if _, err := m.Map.WriteAt(b, int64(a)); err != nil {
			return fmt.Errorf("encrypt: write bytes %d..%d through the mapping: %w", a, p, err)
		}
		if err := m.Map.Sync(); err != nil {
			return fmt.Errorf("encrypt: flush the mapping: %w", err)
		}
		if err := m.advance(ctx, r, PauseEncryptChunk, a); err != nil {
			return err
		}
	}
	return nil
}
