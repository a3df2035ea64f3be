// Package logwrites reads the log that the kernel's dm-log-writes target
// keeps of every write, flush, FUA write, discard and mark sent to a device,
// and rebuilds the device as a crash would have left it at any point of
// that log: every write before the last durable point (flush or FUA), plus
// any subset of the writes after it, in any order, as a disk with a
// volatile cache may persist them.
//
// The on-disk format is the kernel's (Documentation/admin-guide/
// device-mapper/log-writes.rst and drivers/md/dm-log-writes.c, read as a
// reference): a super block in the first log sector (magic, version,
// entry count, sector size, little-endian), then entries one after the
// other, each a one-sector header (sector, sector count, flags, data
// length) followed by its data sectors; a mark's name is stored in its
// header sector after the fields. Sector numbers and counts in entries are
// in units of the device's logical block size (the super's sector size);
// positions in the log are in 512-byte sectors.
package logwrites

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Entry flags, as the kernel sets them.
const (
	FlagFlush    = 1 << 0 // REQ_PREFLUSH: every earlier write is durable
	FlagFUA      = 1 << 1 // REQ_FUA: this write is durable when it completes
	FlagDiscard  = 1 << 2
	FlagMark     = 1 << 3 // a user mark (dmsetup message <dev> 0 mark NAME)
	FlagMetadata = 1 << 4 // REQ_META
)

// Magic and Version identify a dm-log-writes log.
const (
	Magic   = 0x6a736677736872
	Version = 1
)

// Entry is one logged request.
type Entry struct {
	Index  int    // position in the log, from 0
	Sector uint64 // first device sector written (logical block size units)
	Count  uint64 // sectors written or discarded
	Flags  uint64
	Mark   string // the mark's name for FlagMark entries
	Data   []byte // the written bytes (nil for flushes, marks, discards)
}

// Durable reports whether the entry is a point at which everything logged
// up to and including it is on stable storage.
func (e *Entry) Durable() bool { return e.Flags&(FlagFlush|FlagFUA) != 0 }

// IsWrite reports whether the entry changes the device's content.
func (e *Entry) IsWrite() bool {
	return e.Flags&FlagMark == 0 && (len(e.Data) > 0 || e.Flags&FlagDiscard != 0)
}

// Log is a parsed log.
type Log struct {
	SectorSize int
	Entries    []Entry
}

// Parse reads a whole log from r (the log device or a copy of it).
func Parse(r io.ReaderAt) (*Log, error) {
	sup := make([]byte, 28)
	if _, err := r.ReadAt(sup, 0); err != nil {
		return nil, fmt.Errorf("log super block: %w", err)
	}
	le := binary.LittleEndian
	if m := le.Uint64(sup[0:]); m != Magic {
		return nil, fmt.Errorf("log super block: magic %#x, want %#x (no dm-log-writes log here)", m, uint64(Magic))
	}
	if v := le.Uint64(sup[8:]); v != Version {
		return nil, fmt.Errorf("log super block: version %d, want %d", v, Version)
	}
	n := le.Uint64(sup[16:])
	ss := int(le.Uint32(sup[24:]))
	if ss < 512 || ss&(ss-1) != 0 || ss > 65536 {
		return nil, fmt.Errorf("log super block: sector size %d", ss)
	}
	if n > 1<<24 {
		return nil, fmt.Errorf("log super block: %d entries is not plausible", n)
	}
	l := &Log{SectorSize: ss}
	pos := int64(ss) // the first entry follows the super block's sector
	hdr := make([]byte, ss)
	for i := uint64(0); i < n; i++ {
		if _, err := r.ReadAt(hdr, pos); err != nil {
			return nil, fmt.Errorf("log entry %d at byte %d: %w", i, pos, err)
		}
		e := Entry{Index: int(i), Sector: le.Uint64(hdr[0:]), Count: le.Uint64(hdr[8:]),
			Flags: le.Uint64(hdr[16:])}
		dataLen := le.Uint64(hdr[24:])
		pos += int64(ss)
		switch {
		case e.Flags&FlagMark != 0:
			if dataLen > uint64(ss-32) {
				return nil, fmt.Errorf("log entry %d: mark of %d bytes", i, dataLen)
			}
			e.Mark = string(hdr[32 : 32+dataLen])
		case e.Flags&FlagDiscard != 0:
			// No data follows a discard.
		case e.Count > 0:
			if e.Count > 1<<22 {
				return nil, fmt.Errorf("log entry %d: %d sectors is not plausible", i, e.Count)
			}
			e.Data = make([]byte, e.Count*uint64(ss))
			if _, err := r.ReadAt(e.Data, pos); err != nil {
				return nil, fmt.Errorf("log entry %d data at byte %d: %w", i, pos, err)
			}
			pos += int64(len(e.Data))
		}
		l.Entries = append(l.Entries, e)
	}
	return l, nil
}

// FindMark returns the index of the first mark named name, or an error.
func (l *Log) FindMark(name string) (int, error) {
	for i := range l.Entries {
		if l.Entries[i].Flags&FlagMark != 0 && l.Entries[i].Mark == name {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no mark %q in the log", name)
}

// ErrOutOfRange is returned when an entry writes beyond the image.
var ErrOutOfRange = errors.New("write beyond the end of the device image")

// Apply writes entry e into img (a whole device image).
func (l *Log) Apply(img []byte, e *Entry) error {
	if !e.IsWrite() {
		return nil
	}
	off := e.Sector * uint64(l.SectorSize)
	end := off + e.Count*uint64(l.SectorSize)
	if end > uint64(len(img)) || end < off {
		return fmt.Errorf("entry %d: sectors %d+%d: %w", e.Index, e.Sector, e.Count, ErrOutOfRange)
	}
	if e.Flags&FlagDiscard != 0 {
		// A discarded range may read back as old data or zeros; zeros is
		// the harsher choice for whoever relied on it.
		clear(img[off:end])
		return nil
	}
	copy(img[off:end], e.Data)
	return nil
}

// ApplyRange applies entries [from, to) in log order.
func (l *Log) ApplyRange(img []byte, from, to int) error {
	for i := from; i < to; i++ {
		if err := l.Apply(img, &l.Entries[i]); err != nil {
			return err
		}
	}
	return nil
}
