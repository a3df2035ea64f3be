package header

import (
	"fmt"
	"io"
)

// BackupSize is the size of a file written by Backup: two header copies.
const BackupSize = 2 * CopySize

// Backup copies the header of device r to w as a backup file of BackupSize
// bytes: copy A followed by copy B, byte for byte as stored. A damaged copy
// is replaced by the valid one, so every backup file holds two valid
// copies. It refuses (returning Read's error) when the device has no valid
// header. The blob is sealed to the SoC, so the file is only useful on the
// same device; it still deserves the care of any key file.
func Backup(r io.ReaderAt, w io.Writer) (*Header, error) {
	h, rep, raw, err := readRaw(r)
	if err != nil {
		return nil, err
	}
	for i := range raw {
		if !rep.Copies[i].Valid {
			raw[i] = raw[rep.Used]
		}
	}
	for i, c := range raw {
		if _, err := w.Write(c); err != nil {
			return nil, fmt.Errorf("write header backup copy %c: %w", 'A'+i, err)
		}
	}
	return h, nil
}

// Restore reads a header backup from file and writes it to both copy
// positions of dev. The file may be a Backup file (two copies,
// BackupSize bytes) or a single header copy (CopySize bytes, e.g. cut out
// with `dd bs=4096 count=1`). Every copy in the file must be valid, or
// Restore refuses and writes nothing (error wrapping ErrCorrupt,
// ErrVersion or ErrNoHeader). When the two copies in a file differ, copy A
// is written to both positions. The caller decides whether dev is the right
// device (compare the UUID of what is there first) and syncs dev.
func Restore(file io.Reader, dev io.WriterAt) (*Header, error) {
	buf, err := io.ReadAll(io.LimitReader(file, BackupSize+1))
	if err != nil {
		return nil, fmt.Errorf("read header backup: %w", err)
	}
	var copies [][]byte
	switch len(buf) {
	case CopySize:
		copies = [][]byte{buf}
	case BackupSize:
		copies = [][]byte{buf[:CopySize], buf[CopySize:]}
	default:
		return nil, fmt.Errorf("%w: header backup is %d bytes, expected %d (one copy) or %d (two copies)", ErrCorrupt, len(buf), CopySize, BackupSize)
	}
	var h *Header
	for i, c := range copies {
		hc, err := Unmarshal(c)
		if err != nil {
			return nil, fmt.Errorf("header backup copy %c: %w", 'A'+i, err)
		}
		if h == nil {
			h = hc
		}
	}
	// Copy A goes to both positions: when the file's two copies differ,
	// A is the one Read would have used.
	if err := writeCopies(dev, copies[0], copies[0]); err != nil {
		return nil, err
	}
	return h, nil
}
