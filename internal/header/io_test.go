package header

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
)

const devSize = 2 << 20

func writtenDev(t *testing.T) *memDev {
	t.Helper()
	d := newDev(devSize)
	if err := Write(d, validHeader()); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWriteReadBothValid(t *testing.T) {
	d := writtenDev(t)
	h, rep, err := Read(d)
	if err != nil {
		t.Fatal(err)
	}
	if h.Label != "data" || rep.Used != 0 || !rep.Copies[0].Valid || !rep.Copies[1].Valid || rep.Damaged() || rep.Mismatch {
		t.Errorf("report %+v", rep)
	}
	if rep.Copies[1].Offset != 64<<10 {
		t.Errorf("copy B offset %d", rep.Copies[1].Offset)
	}
	if !bytes.Equal(d.b[0:CopySize], d.b[64<<10:64<<10+CopySize]) {
		t.Errorf("copies differ on disk")
	}
}

func TestReadFallsBackToCopyB(t *testing.T) {
	d := writtenDev(t)
	d.b[offCipher+3] ^= 0x10 // one bit in copy A
	h, rep, err := Read(d)
	if err != nil {
		t.Fatalf("Read with copy A damaged: %v", err)
	}
	if rep.Used != 1 || rep.Copies[0].Valid || !rep.Copies[0].Magic || !errors.Is(rep.Copies[0].Err, ErrCorrupt) || !rep.Copies[1].Valid {
		t.Errorf("report %+v", rep)
	}
	if !rep.Damaged() || h.Cipher != "capi:tk(cbc(aes))-plain" {
		t.Errorf("Damaged %v cipher %q", rep.Damaged(), h.Cipher)
	}
}

func TestReadCopyAWithoutMagic(t *testing.T) {
	d := writtenDev(t)
	copy(d.b[0:], make([]byte, CopySize)) // mkfs wiped the first 4 KiB
	_, rep, err := Read(d)
	if err != nil || rep.Used != 1 || rep.Copies[0].Magic || !errors.Is(rep.Copies[0].Err, ErrNoHeader) {
		t.Fatalf("err %v report %+v", err, rep)
	}
}

func TestReadCopyBDamaged(t *testing.T) {
	d := writtenDev(t)
	d.b[CopyOffsets[1]+offBlob+5] ^= 1
	_, rep, err := Read(d)
	if err != nil || rep.Used != 0 || rep.Copies[1].Valid || !rep.Damaged() {
		t.Fatalf("err %v report %+v", err, rep)
	}
}

func TestReadBothDamaged(t *testing.T) {
	d := writtenDev(t)
	d.b[offLabel] ^= 1
	d.b[CopyOffsets[1]+offChecksum] ^= 1
	_, rep, err := Read(d)
	if !errors.Is(err, ErrCorrupt) || rep.Used != -1 {
		t.Fatalf("err %v, report %+v; want ErrCorrupt", err, rep)
	}
}

func TestReadNoHeader(t *testing.T) {
	if _, _, err := Read(newDev(devSize)); !errors.Is(err, ErrNoHeader) {
		t.Errorf("zeros: %v", err)
	}
	if _, _, err := Read(newDev(100)); !errors.Is(err, ErrNoHeader) {
		t.Errorf("tiny device: %v", err)
	}
}

func TestReadShortDeviceCopyAOnly(t *testing.T) {
	d := writtenDev(t)
	short := &memDev{b: d.b[:8192]}
	_, rep, err := Read(short)
	if err != nil || rep.Used != 0 || rep.Copies[1].Magic {
		t.Fatalf("err %v report %+v", err, rep)
	}
}

func TestReadUnknownVersion(t *testing.T) {
	d := writtenDev(t)
	for _, off := range CopyOffsets {
		le.PutUint16(d.b[off+offMajor:], 9)
	}
	if _, _, err := Read(d); !errors.Is(err, ErrVersion) {
		t.Fatalf("both copies version 9: %v", err)
	}
	// Only A from the future and B valid: B is used (a newer tool's update
	// was interrupted); the report keeps the version error of A.
	d = writtenDev(t)
	le.PutUint16(d.b[offMajor:], 9)
	_, rep, err := Read(d)
	if err != nil || rep.Used != 1 || !errors.Is(rep.Copies[0].Err, ErrVersion) {
		t.Fatalf("err %v report %+v", err, rep)
	}
}

func TestReadMismatchPrefersA(t *testing.T) {
	d := writtenDev(t)
	h := validHeader()
	h.Label = "newer"
	b, _ := h.Marshal()
	copy(d.b[0:], b)
	got, rep, err := Read(d)
	if err != nil || got.Label != "newer" || !rep.Mismatch || !rep.Damaged() {
		t.Fatalf("err %v label %q report %+v", err, got.Label, rep)
	}
}

func TestHas(t *testing.T) {
	d := writtenDev(t)
	if !Has(d) {
		t.Error("Has on a written device = false")
	}
	d.b[offChecksum] ^= 1
	copy(d.b[CopyOffsets[1]:], "XX")
	if !Has(d) {
		t.Error("Has must report a damaged copy with magic")
	}
	copy(d.b[0:], "XX")
	if Has(d) {
		t.Error("Has with both magics gone = true")
	}
	if Has(newDev(10)) {
		t.Error("Has on a tiny device = true")
	}
}

func TestWriteRefusesInvalid(t *testing.T) {
	d := newDev(devSize)
	h := validHeader()
	h.SectorSize = 3000
	if err := Write(d, h); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Write: %v", err)
	}
	if Has(d) {
		t.Error("invalid header was written")
	}
}

// failingDev fails reads that touch one range, like a bad flash block.
type failingDev struct {
	*memDev
	badOff int64
}

var errBadBlock = errors.New("input/output error")

func (d failingDev) ReadAt(p []byte, off int64) (int, error) {
	if off <= d.badOff && d.badOff < off+int64(len(p)) {
		return 0, errBadBlock
	}
	return d.memDev.ReadAt(p, off)
}

func TestReadSurvivesUnreadableCopy(t *testing.T) {
	d := writtenDev(t)
	_, rep, err := Read(failingDev{d, 100})
	if err != nil || rep.Used != 1 || !errors.Is(rep.Copies[0].Err, errBadBlock) {
		t.Fatalf("bad block in copy A: err %v report %+v", err, rep)
	}
	_, _, err = Read(failingDev{newDev(devSize), CopyOffsets[1]})
	if !errors.Is(err, errBadBlock) {
		t.Fatalf("unreadable B, empty A: %v, want the I/O error", err)
	}
}

// syncDev records the order of writes and syncs on a memDev.
type syncDev struct {
	memDev
	ops []string
}

func (d *syncDev) WriteAt(p []byte, off int64) (int, error) {
	d.ops = append(d.ops, fmt.Sprintf("write %d", off))
	return d.memDev.WriteAt(p, off)
}

func (d *syncDev) Sync() error {
	d.ops = append(d.ops, "sync")
	return nil
}

// Copy A must be on stable storage before copy B is touched: without the
// barrier the kernel may write both at once, and a power cut can tear both
// copies, losing the volume (the only copy of its blob).
func TestWriteSyncsCopyABeforeCopyB(t *testing.T) {
	for _, name := range []string{"Write", "Restore"} {
		t.Run(name, func(t *testing.T) {
			d := &syncDev{memDev: *newDev(1 << 20)}
			var err error
			if name == "Write" {
				err = Write(d, validHeader())
			} else {
				var b []byte
				if b, err = validHeader().Marshal(); err == nil {
					_, err = Restore(bytes.NewReader(b), d)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"write 0", "sync", fmt.Sprintf("write %d", CopyOffsets[1])}
			if !slices.Equal(d.ops, want) {
				t.Fatalf("operations %q, want %q (the caller syncs after copy B)", d.ops, want)
			}
		})
	}
}
