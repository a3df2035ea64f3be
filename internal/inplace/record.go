package inplace

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Direction is what a transition does.
type Direction uint16

// The three transitions.
const (
	Encrypt   Direction = 1
	Decrypt   Direction = 2
	Reencrypt Direction = 3
)

// String is the command that runs (and resumes) the transition.
func (d Direction) String() string {
	switch d {
	case Encrypt:
		return "encrypt"
	case Decrypt:
		return "decrypt"
	case Reencrypt:
		return "reencrypt"
	}
	return fmt.Sprintf("direction %d", uint16(d))
}

// Record layout (FORMAT.md, "Transition record"). Two slots, written in
// turn; a reader takes the valid slot with the higher sequence number, so
// a write torn by a power cut loses only the slot it was writing.
const (
	// SlotSize is the size of one record slot.
	SlotSize = 16 << 10
	// SlotStride is the distance between slot A and slot B.
	SlotStride = 32 << 10
	// TailSize is the area at the end of the device that holds the record
	// of an encrypt or decrypt (the payload never covers it).
	TailSize = 64 << 10
	// HeaderAreaBase is where the reencrypt record lives: in the header
	// area, between copy B (64 KiB) and the key-check area (512 KiB).
	HeaderAreaBase = 128 << 10
	// JournalOffset and JournalMax are the reencrypt journal's place.
	JournalOffset = 192 << 10
	JournalMax    = 320 << 10
	// BlockSize is the size of the saved first block of the file system.
	BlockSize = 4096
	// HeaderSize is the size of a header copy kept in the record.
	HeaderSize = 4096

	recordVersion = 1

	offVersion   = 16  // u16
	offDirection = 18  // u16
	offChunk     = 20  // u32
	offSeq       = 24  // u64
	offProgress  = 32  // u64
	offTotal     = 40  // u64
	offDevSize   = 48  // u64
	offShift     = 56  // u64
	offJStart    = 64  // u64
	offJLen      = 72  // u32
	offJSector   = 76  // u32
	offJSum      = 80  // [32]byte
	offTarget    = 512 // [4096]byte
	offOld       = offTarget + HeaderSize
	offFirst     = offOld + HeaderSize
	offSum       = SlotSize - 32
)

// RecordMagic starts every record slot.
var RecordMagic = [15]byte{'C', 'A', 'A', 'M', 'C', 'R', 'Y', 'P', 'T', '-', 'X', 'F', 'E', 'R', 0}

// Errors of the record.
var (
	// ErrCorruptRecord: a record slot carries the magic but no slot is
	// valid. Nothing is guessed; the transition cannot go on.
	ErrCorruptRecord = errors.New("transition record damaged")
)

// Record is the state of a transition.
type Record struct {
	Direction Direction
	Seq       uint64 // +1 at every write
	Chunk     uint32 // bytes moved per step
	// Progress is the byte position in the payload the work has reached:
	// encrypt counts down from Total to 0 (what is below is still plain,
	// at its old place), decrypt and reencrypt count up from 0 to Total.
	Progress uint64
	Total    uint64 // payload bytes the transition moves
	DevSize  uint64 // the device size the record was made for
	Shift    uint64 // the payload offset D
	// JournalStart and JournalLen describe the reencrypt journal of the
	// chunk in flight (JournalLen 0: none), JournalSector the sector size
	// its hashes cover and JournalSum its SHA-256.
	JournalStart  uint64
	JournalLen    uint32
	JournalSector uint32
	JournalSum    [32]byte
	// Target is the header the volume gets at the end (with the new key's
	// blob, so a resume can import the key); Old is the header it had
	// (reencrypt: the old key); First is the file system's real first block.
	Target []byte
	Old    []byte
	First  []byte
}

// Done reports whether the data is all moved.
func (r *Record) Done() bool {
	if r.Direction == Encrypt {
		return r.Progress == 0
	}
	return r.Progress >= r.Total
}

// Percent is how far the transition got, 0..100.
func (r *Record) Percent() int {
	if r.Total == 0 {
		return 100
	}
	moved := r.Progress
	if r.Direction == Encrypt {
		moved = r.Total - r.Progress
	}
	return int(moved * 100 / r.Total)
}

// marshal encodes r into one slot.
func (r *Record) marshal() ([]byte, error) {
	for _, f := range []struct {
		name string
		b    []byte
		max  int
	}{{"target header", r.Target, HeaderSize}, {"old header", r.Old, HeaderSize}, {"first block", r.First, BlockSize}} {
		if len(f.b) > f.max {
			return nil, fmt.Errorf("transition record: %s is %d bytes, at most %d", f.name, len(f.b), f.max)
		}
	}
	b := AlignedBuf(SlotSize)
	copy(b, RecordMagic[:])
	le := binary.LittleEndian
	le.PutUint16(b[offVersion:], recordVersion)
	le.PutUint16(b[offDirection:], uint16(r.Direction))
	le.PutUint32(b[offChunk:], r.Chunk)
	le.PutUint64(b[offSeq:], r.Seq)
	le.PutUint64(b[offProgress:], r.Progress)
	le.PutUint64(b[offTotal:], r.Total)
	le.PutUint64(b[offDevSize:], r.DevSize)
	le.PutUint64(b[offShift:], r.Shift)
	le.PutUint64(b[offJStart:], r.JournalStart)
	le.PutUint32(b[offJLen:], r.JournalLen)
	le.PutUint32(b[offJSector:], r.JournalSector)
	copy(b[offJSum:], r.JournalSum[:])
	copy(b[offTarget:], r.Target)
	copy(b[offOld:], r.Old)
	copy(b[offFirst:], r.First)
	sum := sha256.Sum256(b[:offSum])
	copy(b[offSum:], sum[:])
	return b, nil
}

// unmarshal decodes one slot; ok is false without the magic.
func unmarshal(b []byte) (r *Record, magic bool, err error) {
	if len(b) < SlotSize || !bytes.Equal(b[:len(RecordMagic)], RecordMagic[:]) {
		return nil, false, nil
	}
	sum := sha256.Sum256(b[:offSum])
	if !bytes.Equal(sum[:], b[offSum:SlotSize]) {
		return nil, true, fmt.Errorf("%w: checksum mismatch", ErrCorruptRecord)
	}
	le := binary.LittleEndian
	if v := le.Uint16(b[offVersion:]); v != recordVersion {
		return nil, true, fmt.Errorf("%w: version %d, this caamcrypt knows %d", ErrCorruptRecord, v, recordVersion)
	}
	r = &Record{
		Direction:     Direction(le.Uint16(b[offDirection:])),
		Chunk:         le.Uint32(b[offChunk:]),
		Seq:           le.Uint64(b[offSeq:]),
		Progress:      le.Uint64(b[offProgress:]),
		Total:         le.Uint64(b[offTotal:]),
		DevSize:       le.Uint64(b[offDevSize:]),
		Shift:         le.Uint64(b[offShift:]),
		JournalStart:  le.Uint64(b[offJStart:]),
		JournalLen:    le.Uint32(b[offJLen:]),
		JournalSector: le.Uint32(b[offJSector:]),
		Target:        append([]byte(nil), b[offTarget:offTarget+HeaderSize]...),
		Old:           append([]byte(nil), b[offOld:offOld+HeaderSize]...),
		First:         append([]byte(nil), b[offFirst:offFirst+BlockSize]...),
	}
	copy(r.JournalSum[:], b[offJSum:])
	switch {
	case r.Direction < Encrypt || r.Direction > Reencrypt:
		return nil, true, fmt.Errorf("%w: unknown direction %d", ErrCorruptRecord, r.Direction)
	case r.Chunk == 0 || r.Chunk%Align != 0:
		return nil, true, fmt.Errorf("%w: chunk size %d", ErrCorruptRecord, r.Chunk)
	case r.Progress > r.Total:
		return nil, true, fmt.Errorf("%w: progress %d beyond total %d", ErrCorruptRecord, r.Progress, r.Total)
	}
	return r, true, nil
}

// Log reads and writes the record at one place of a device.
type Log struct {
	dev  Dev
	base int64
	next int // slot the next Write uses
}

// TailBase is where the encrypt/decrypt record of a device of size n
// (rounded down to Align) lives.
func TailBase(n int64) int64 { return n/Align*Align - TailSize }

// NewLog is the record at base on dev.
func NewLog(dev Dev, base int64) *Log { return &Log{dev: dev, base: base} }

// Read returns the newest valid record, nil when no slot has the magic,
// or ErrCorruptRecord when slots have the magic but none is valid.
func (l *Log) Read() (*Record, error) {
	var best *Record
	var errs []error
	magic := false
	for i := 0; i < 2; i++ {
		b := AlignedBuf(SlotSize)
		if _, err := l.dev.ReadAt(b, l.base+int64(i)*SlotStride); err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read transition record slot %c at %d: %w", 'A'+i, l.base+int64(i)*SlotStride, err)
		}
		r, m, err := unmarshal(b)
		magic = magic || m
		if err != nil {
			errs = append(errs, fmt.Errorf("slot %c: %w", 'A'+i, err))
			continue
		}
		if r != nil && (best == nil || r.Seq > best.Seq) {
			best = r
			l.next = 1 - i
		}
	}
	if best == nil && magic {
		return nil, errors.Join(errs...)
	}
	return best, nil
}

// Write stores r (with Seq+1) in the slot not holding the newest record
// and syncs: one write and one flush per update.
func (l *Log) Write(r *Record) error {
	r.Seq++
	b, err := r.marshal()
	if err != nil {
		return err
	}
	off := l.base + int64(l.next)*SlotStride
	if _, err := l.dev.WriteAt(b, off); err != nil {
		return fmt.Errorf("write transition record at %d: %w", off, err)
	}
	if err := l.dev.Sync(); err != nil {
		return fmt.Errorf("sync transition record: %w", err)
	}
	l.next = 1 - l.next
	return nil
}

// Start begins a new transition: both slots are cleared first, so no
// older record (of any sequence number) can outrank r.
func (l *Log) Start(r *Record) error {
	if err := l.Clear(); err != nil {
		return err
	}
	l.next, r.Seq = 0, 0
	return l.Write(r)
}

// Clear zeroes both slots: the transition is over. The slot with the
// older record goes first and is flushed before the newest is touched:
// zeroed the other way round (or both in one flush, which a disk may
// reorder or half keep), a crash could leave the older record alone, and a
// resume would redo a step whose source the finish has already overwritten
// (encrypt's last chunk reads the area the header now holds). This way a
// crash leaves the newest record, whose finish is safe to repeat, or none.
func (l *Log) Clear() error {
	z := AlignedBuf(SlotSize)
	for _, i := range []int{l.next, 1 - l.next} { // l.next: the older slot
		if _, err := l.dev.WriteAt(z, l.base+int64(i)*SlotStride); err != nil {
			return fmt.Errorf("clear transition record: %w", err)
		}
		if err := l.dev.Sync(); err != nil {
			return fmt.Errorf("sync cleared transition record: %w", err)
		}
	}
	return nil
}
