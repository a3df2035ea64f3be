package inplace

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
)

// hashLen is the bytes of SHA-256 kept per sector in the journal.
const hashLen = 16

// ErrLost: after a crash, a sector of the chunk in flight decrypts to its
// journalled plaintext under neither key. Never guessed.
var ErrLost = errors.New("sector matches neither key")

// MaxReencryptChunk is the largest chunk whose journal fits for sector size ss.
func MaxReencryptChunk(ss int) int { return JournalMax / hashLen * ss }

// reencrypt rewrites the payload in place, chunk by chunk from the start:
// read [P, b) through the old mapping, journal the SHA-256 (first 16
// bytes) of every sector's plaintext, flush, record (P, journal), write the
// chunk through the new mapping, flush, record P = b. A crash in the
// middle leaves each sector old or new; the journal tells which (resume).
func (m *Mover) reencrypt(ctx context.Context, r *Record) error {
	ss := int(r.JournalSector)
	if ss < 512 || int(r.Chunk) > MaxReencryptChunk(ss) || int(r.Chunk)%ss != 0 {
		return fmt.Errorf("reencrypt: chunk %d with sector size %d does not fit the journal", r.Chunk, ss)
	}
	if r.JournalLen != 0 {
		if err := m.resumeChunk(r); err != nil {
			return err
		}
	}
	buf := AlignedBuf(int(r.Chunk))
	for r.Progress < r.Total {
		if err := stopped(ctx, r); err != nil {
			return err
		}
		p := r.Progress
		e := min(r.Total, p+uint64(r.Chunk))
		b := buf[:e-p]
		if _, err := m.Old.ReadAt(b, int64(p)); err != nil {
			return fmt.Errorf("reencrypt: read bytes %d..%d with the old key: %w", p, e, err)
		}
		j := journal(b, ss)
		if _, err := m.Raw.WriteAt(j, JournalOffset); err != nil {
			return fmt.Errorf("reencrypt: write journal: %w", err)
		}
		if err := m.Raw.Sync(); err != nil {
			return fmt.Errorf("reencrypt: flush journal: %w", err)
		}
		r.JournalStart, r.JournalLen, r.JournalSum = p, uint32(len(j)), sha256.Sum256(j)
		if err := m.Log.Write(r); err != nil {
			return err
		}
		if _, err := m.Map.WriteAt(b, int64(p)); err != nil {
			return fmt.Errorf("reencrypt: write bytes %d..%d with the new key: %w", p, e, err)
		}
		if err := m.Map.Sync(); err != nil {
			return fmt.Errorf("reencrypt: flush the new mapping: %w", err)
		}
		if err := m.advance(ctx, r, PauseReencryptChunk, e); err != nil {
			return err
		}
	}
	return nil
}

// journal is the per-sector hash list of plaintext b, padded to Align.
func journal(b []byte, ss int) []byte {
	n := len(b) / ss * hashLen
	j := AlignedBuf((n + Align - 1) / Align * Align)
	for i := 0; i*ss < len(b); i++ {
		s := sha256.Sum256(b[i*ss : (i+1)*ss])
		copy(j[i*hashLen:], s[:hashLen])
	}
	return j
}

// resumeChunk finishes the chunk a crash interrupted: each sector that
// still decrypts to its journalled plaintext under the old key is written
// with the new key; one that does under the new key is done; any other is
// ErrLost. Then the record moves past the chunk.
func (m *Mover) resumeChunk(r *Record) error {
	ss := int(r.JournalSector)
	jl := (int(r.JournalLen) + Align - 1) / Align * Align
	j := AlignedBuf(jl)
	if _, err := m.Raw.ReadAt(j, JournalOffset); err != nil {
		return fmt.Errorf("reencrypt: read journal: %w", err)
	}
	if sha256.Sum256(j[:r.JournalLen]) != r.JournalSum {
		return fmt.Errorf("%w: reencrypt journal checksum mismatch", ErrCorruptRecord)
	}
	p := r.JournalStart
	e := min(r.Total, p+uint64(r.Chunk))
	n := int(e - p)
	oldB, newB := AlignedBuf(n), AlignedBuf(n)
	if _, err := m.Old.ReadAt(oldB, int64(p)); err != nil {
		return fmt.Errorf("reencrypt: read chunk with the old key: %w", err)
	}
	if _, err := m.Map.ReadAt(newB, int64(p)); err != nil {
		return fmt.Errorf("reencrypt: read chunk with the new key: %w", err)
	}
	var lost []int64
	rewrite := false
	for i := 0; i*ss < n; i++ {
		want := j[i*hashLen : (i+1)*hashLen]
		so, sn := sha256.Sum256(oldB[i*ss:(i+1)*ss]), sha256.Sum256(newB[i*ss:(i+1)*ss])
		switch {
		case bytes.Equal(sn[:hashLen], want):
			copy(oldB[i*ss:], newB[i*ss:(i+1)*ss]) // already new: keep it
		case bytes.Equal(so[:hashLen], want):
			rewrite = true
		default:
			lost = append(lost, int64(p)+int64(i*ss))
		}
	}
	if len(lost) > 0 {
		return fmt.Errorf("%w: %d sector(s) of the chunk at payload byte %d (first at %d); nothing was written",
			ErrLost, len(lost), p, lost[0])
	}
	if rewrite {
		if _, err := m.Map.WriteAt(oldB, int64(p)); err != nil {
			return fmt.Errorf("reencrypt: rewrite interrupted chunk: %w", err)
		}
		if err := m.Map.Sync(); err != nil {
			return fmt.Errorf("reencrypt: flush the new mapping: %w", err)
		}
	}
	r.Progress, r.JournalLen = e, 0
	return m.Log.Write(r)
}
