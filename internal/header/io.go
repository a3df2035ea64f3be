package header

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// CopyStatus says what Read found in one header copy.
type CopyStatus struct {
	Offset int64 // where the copy lives on the device
	Magic  bool  // the caamcrypt magic is present
	Valid  bool  // the copy decoded and validated
	Err    error // why it is not valid (nil when Valid)
}

// ReadReport tells the caller which header copies were usable, so a command
// can warn "copy B is damaged, run `caamcrypt header restore`" while still
// opening the volume from the good copy.
type ReadReport struct {
	Copies [2]CopyStatus
	// Used is the index (0 = A, 1 = B) of the copy Read returned, -1 if none.
	Used int
	// Mismatch is set when both copies are valid but differ (an interrupted
	// header update); copy A, which Write writes first, is returned.
	Mismatch bool
}

// Damaged reports whether at least one copy is not valid while the header
// as a whole was readable: the caller should rewrite both copies.
func (r ReadReport) Damaged() bool {
	return r.Used >= 0 && (!r.Copies[0].Valid || !r.Copies[1].Valid || r.Mismatch)
}

// readCopy reads copy i; a device too short to hold it reads as a copy
// without magic.
func readCopy(r io.ReaderAt, i int) ([]byte, error) {
	b := make([]byte, CopySize)
	n, err := r.ReadAt(b, CopyOffsets[i])
	if n == CopySize {
		return b, nil
	}
	if errors.Is(err, io.EOF) || err == nil {
		return b[:n], nil
	}
	return nil, fmt.Errorf("read header copy at %d: %w", CopyOffsets[i], err)
}

// readRaw reads both copies, decodes them and picks one. It returns the raw
// bytes of both copies too (for Backup). A copy that cannot be read (a bad
// flash block) counts as damaged, so the other copy still opens the volume.
func readRaw(r io.ReaderAt) (*Header, ReadReport, [2][]byte, error) {
	rep := ReadReport{Used: -1}
	var raw [2][]byte
	var hs [2]*Header
	var ioErr error
	for i := range CopyOffsets {
		st := &rep.Copies[i]
		st.Offset = CopyOffsets[i]
		b, err := readCopy(r, i)
		if err != nil {
			st.Err, ioErr = err, err
			continue
		}
		raw[i] = b
		st.Magic = len(b) >= len(Magic) && bytes.Equal(b[:len(Magic)], Magic[:])
		hs[i], st.Err = Unmarshal(b)
		st.Valid = st.Err == nil
	}
	a, b := rep.Copies[0], rep.Copies[1]
	switch {
	case a.Valid:
		rep.Used = 0
		rep.Mismatch = b.Valid && !bytes.Equal(raw[0], raw[1])
	case b.Valid:
		rep.Used = 1
	case !a.Magic && !b.Magic && ioErr != nil:
		return nil, rep, raw, ioErr
	case !a.Magic && !b.Magic:
		return nil, rep, raw, ErrNoHeader
	case errors.Is(a.Err, ErrVersion) || errors.Is(b.Err, ErrVersion):
		return nil, rep, raw, fmt.Errorf("%w (copy A: %v; copy B: %v)", ErrVersion, a.Err, b.Err)
	default:
		return nil, rep, raw, fmt.Errorf("%w: both copies are damaged (copy A: %v; copy B: %v)", ErrCorrupt, a.Err, b.Err)
	}
	return hs[rep.Used], rep, raw, nil
}

// Read reads both header copies from r and returns the first valid one with
// a report of what each copy held. Errors: ErrNoHeader when neither copy has
// the magic, ErrVersion when no copy is valid and one has an unknown major
// version, ErrCorrupt when both copies are damaged, or the I/O error when a
// copy could not be read and the other has no magic.
func Read(r io.ReaderAt) (*Header, ReadReport, error) {
	h, rep, _, err := readRaw(r)
	return h, rep, err
}

// Has reports whether either header copy carries the caamcrypt magic, valid
// or not: "this device was a caamcrypt volume", for format's safety check.
func Has(r io.ReaderAt) bool {
	for _, off := range CopyOffsets {
		b := make([]byte, len(Magic))
		if n, _ := r.ReadAt(b, off); n == len(b) && bytes.Equal(b, Magic[:]) {
			return true
		}
	}
	return false
}

// Write validates and encodes h and writes it as copy A then copy B. The
// order matters: Read prefers A, so after an interrupted update either A is
// new (and returned) or A is old and B still old. When w has a Sync method
// (an *os.File), copy A is synced before copy B is written, so the two
// writes cannot be in flight together and a power cut tears at most one
// copy. The caller syncs w after Write.
func Write(w io.WriterAt, h *Header) error {
	b, err := h.Marshal()
	if err != nil {
		return err
	}
	return writeCopies(w, b, b)
}

// syncer is what an *os.File offers to force written data to the device.
type syncer interface{ Sync() error }

// writeCopies writes a as copy A and b as copy B, with a sync barrier in
// between when w can sync (see Write).
func writeCopies(w io.WriterAt, a, b []byte) error {
	for i, c := range [2][]byte{a, b} {
		if _, err := w.WriteAt(c, CopyOffsets[i]); err != nil {
			return fmt.Errorf("write header copy %c at %d: %w", 'A'+i, CopyOffsets[i], err)
		}
		if s, ok := w.(syncer); ok && i == 0 {
			if err := s.Sync(); err != nil {
				return fmt.Errorf("sync header copy A: %w", err)
			}
		}
	}
	return nil
}
