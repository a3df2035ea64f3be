package inplace

import (
	"bytes"
	"context"
	"errors"
	"math/rand"
	"testing"
)

// memDev is a device in memory; failAfter > 0 makes the n-th write fail
// (a power cut: that write and everything after it never happen).
type memDev struct {
	b         []byte
	writes    int
	failAfter int
}

var errCut = errors.New("power cut")

func (d *memDev) ReadAt(p []byte, off int64) (int, error) { return copy(p, d.b[off:]), nil }
func (d *memDev) WriteAt(p []byte, off int64) (int, error) {
	d.writes++
	if d.failAfter > 0 && d.writes >= d.failAfter {
		return 0, errCut
	}
	return copy(d.b[off:], p), nil
}
func (d *memDev) Sync() error { return nil }

// xorMap is a toy mapping: logical L is raw off+L XORed with a key byte
// that depends on the sector, so a wrong offset or key shows.
type xorMap struct {
	raw *memDev
	off int64
	key byte
}

func (x *xorMap) ReadAt(p []byte, l int64) (int, error) {
	n, err := x.raw.ReadAt(p, x.off+l)
	for i := range p[:n] {
		p[i] ^= x.key + byte((l+int64(i))/512)
	}
	return n, err
}
func (x *xorMap) WriteAt(p []byte, l int64) (int, error) {
	q := append([]byte(nil), p...)
	for i := range q {
		q[i] ^= x.key + byte((l+int64(i))/512)
	}
	return x.raw.WriteAt(q, x.off+l)
}
func (x *xorMap) Sync() error { return nil }

const (
	tDev   = 1 << 20
	tShift = 64 << 10
	tChunk = 16 << 10
)

func fsImage(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(1)).Read(b)
	b[1080], b[1081] = 0x53, 0xef
	return b
}

// run runs the record's transition to the end, cutting the power at every
// cut-th write and resuming from the record each time.
func runWithCuts(t *testing.T, raw *memDev, mk func() *Mover, r *Record, cut int) {
	t.Helper()
	for round := 0; ; round++ {
		raw.writes, raw.failAfter = 0, 0
		if cut > 0 {
			raw.failAfter = cut + round
		}
		m := mk()
		if round > 0 {
			var err error
			if r, err = m.Log.Read(); err != nil || r == nil {
				t.Fatalf("round %d: record %v, %v", round, r, err)
			}
		}
		err := m.Run(context.Background(), r)
		if err == nil {
			return
		}
		if !errors.Is(err, errCut) {
			t.Fatalf("round %d: %v", round, err)
		}
		if round > 10000 {
			t.Fatal("no progress")
		}
	}
}

func TestEncryptDecryptSurviveCuts(t *testing.T) {
	for _, cut := range []int{0, 2, 3, 5} {
		total := uint64(tDev - tShift - TailSize)
		plain := fsImage(int(total))
		raw := &memDev{b: make([]byte, tDev)}
		copy(raw.b, plain)
		log := NewLog(raw, TailBase(tDev))
		r := &Record{Direction: Encrypt, Chunk: tChunk, Progress: total, Total: total, DevSize: tDev, Shift: tShift,
			First: append([]byte(nil), plain[:BlockSize]...)}
		if err := log.Start(r); err != nil {
			t.Fatal(err)
		}
		copy(raw.b, ZeroExtMagic(plain[:BlockSize]))
		mk := func() *Mover {
			return &Mover{Raw: raw, Map: &xorMap{raw, tShift, 7}, Log: NewLog(raw, TailBase(tDev))}
		}
		runWithCuts(t, raw, mk, r, cut)
		got := make([]byte, total)
		(&xorMap{raw, tShift, 7}).ReadAt(got, 0)
		if !bytes.Equal(got, plain) {
			t.Fatalf("cut %d: encrypted payload differs from the plain file system", cut)
		}
		raw.failAfter = 0
		r, err := NewLog(raw, TailBase(tDev)).Read()
		if err != nil || !r.Done() {
			t.Fatalf("cut %d: final record %+v, %v", cut, r, err)
		}

		// Decrypt it back.
		dr := &Record{Direction: Decrypt, Chunk: tChunk, Total: total, DevSize: tDev, Shift: tShift, First: got[:BlockSize]}
		if err := NewLog(raw, TailBase(tDev)).Start(dr); err != nil {
			t.Fatal(err)
		}
		runWithCuts(t, raw, mk, dr, cut)
		raw.failAfter = 0
		dr, _ = NewLog(raw, TailBase(tDev)).Read()
		if err := FinishDecrypt(raw, NewLog(raw, TailBase(tDev)), dr); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw.b[:total], plain) {
			t.Fatalf("cut %d: decrypted device differs", cut)
		}
		if r, err := NewLog(raw, TailBase(tDev)).Read(); r != nil || err != nil {
			t.Fatalf("record left after finish: %+v %v", r, err)
		}
	}
}

func TestReencryptSurvivesCuts(t *testing.T) {
	for _, cut := range []int{0, 2, 4, 7} {
		const dev, shift = 2 << 20, 1 << 20
		total := uint64(dev - shift)
		plain := fsImage(int(total))
		raw := &memDev{b: make([]byte, dev)}
		(&xorMap{raw, shift, 1}).WriteAt(plain, 0)
		r := &Record{Direction: Reencrypt, Chunk: tChunk, Total: total, DevSize: dev, Shift: shift, JournalSector: 512}
		if err := NewLog(raw, HeaderAreaBase).Start(r); err != nil {
			t.Fatal(err)
		}
		mk := func() *Mover {
			return &Mover{Raw: raw, Old: &xorMap{raw, shift, 1}, Map: &xorMap{raw, shift, 9}, Log: NewLog(raw, HeaderAreaBase)}
		}
		runWithCuts(t, raw, mk, r, cut)
		got := make([]byte, total)
		(&xorMap{raw, shift, 9}).ReadAt(got, 0)
		if !bytes.Equal(got, plain) {
			t.Fatalf("cut %d: reencrypted payload differs", cut)
		}
	}
}

// A torn record write loses only the slot being written.
func TestRecordTornSlot(t *testing.T) {
	raw := &memDev{b: make([]byte, tDev)}
	l := NewLog(raw, TailBase(tDev))
	r := &Record{Direction: Encrypt, Chunk: tChunk, Progress: 100 << 10, Total: 200 << 10, Shift: tShift}
	l.Write(r)
	r.Progress = 50 << 10
	l.Write(r)
	raw.b[TailBase(tDev)+SlotStride+100] ^= 1 // slot B (the newer) torn
	got, err := NewLog(raw, TailBase(tDev)).Read()
	if err != nil || got.Progress != 100<<10 {
		t.Fatalf("got %+v, %v; want the older slot", got, err)
	}
	raw.b[TailBase(tDev)+100] ^= 1
	if _, err := NewLog(raw, TailBase(tDev)).Read(); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("both slots torn: %v", err)
	}
}
