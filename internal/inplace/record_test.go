package inplace

import (
	"testing"
)

// traceDev is a device that keeps the order of its writes and flushes, so
// a test can rebuild every state a disk with a volatile cache may be left
// in: everything before the last flush, plus any subset of the writes
// after it.
type traceDev struct {
	b   []byte
	ops []traceOp
}

type traceOp struct {
	sync bool
	off  int64
	data []byte
}

func (d *traceDev) ReadAt(p []byte, off int64) (int, error) { return copy(p, d.b[off:]), nil }
func (d *traceDev) WriteAt(p []byte, off int64) (int, error) {
	d.ops = append(d.ops, traceOp{off: off, data: append([]byte(nil), p...)})
	return copy(d.b[off:], p), nil
}
func (d *traceDev) Sync() error {
	d.ops = append(d.ops, traceOp{sync: true})
	return nil
}

// crashStates calls f with every image a crash during ops may leave, from
// base (the image before ops, all of it durable).
func crashStates(base []byte, ops []traceOp, f func(img []byte)) {
	for cut := 0; cut <= len(ops); cut++ {
		durable := append([]byte(nil), base...)
		var pending []traceOp
		for _, op := range ops[:cut] {
			if op.sync {
				for _, w := range pending {
					copy(durable[w.off:], w.data)
				}
				pending = nil
				continue
			}
			pending = append(pending, op)
		}
		for mask := 0; mask < 1<<len(pending); mask++ {
			img := append([]byte(nil), durable...)
			for i, w := range pending {
				if mask&(1<<i) != 0 {
					copy(img[w.off:], w.data)
				}
			}
			f(img)
		}
	}
}

// A crash while the finished transition's record is cleared leaves the
// newest record or none, never an older one alone: a resume from an older
// record would redo a step whose source the finish had overwritten. Both
// parities: the newest record in slot A and in slot B.
func TestLogClearNeverLeavesAnOlderRecord(t *testing.T) {
	for _, updates := range []int{2, 3} {
		dev := &traceDev{b: make([]byte, TailSize)}
		l := NewLog(dev, 0)
		r := &Record{Direction: Encrypt, Chunk: tChunk, Progress: 3 * tChunk, Total: 3 * tChunk, DevSize: tDev, Shift: tShift}
		if err := l.Start(r); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < updates; i++ {
			r.Progress -= tChunk
			if err := l.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		newest := r.Seq
		base := append([]byte(nil), dev.b...)
		dev.ops = nil
		if err := l.Clear(); err != nil {
			t.Fatal(err)
		}
		states, cleared := 0, 0
		crashStates(base, dev.ops, func(img []byte) {
			states++
			got, err := NewLog(&traceDev{b: img}, 0).Read()
			switch {
			case err != nil:
				t.Errorf("%d updates: a crash state reads as %v", updates, err)
			case got == nil:
				cleared++
			case got.Seq != newest:
				t.Errorf("%d updates: a crash state holds record %d (progress %d), not the newest (%d) or none", updates, got.Seq, got.Progress, newest)
			}
		})
		if cleared == 0 || cleared == states {
			t.Errorf("%d updates: %d of %d crash states cleared: the states do not span the clear", updates, cleared, states)
		}
	}
}
