package vm

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"
)

// PowerCut kills QEMU (not a process in the guest) After the guest begins
// Step: the guest's CPU, memory and page cache vanish at once, like a hard
// power cut of the board.
//
// What reaches the disk: QEMU's raw disks write to the host's page cache
// with every QEMU cache mode, and the host does not crash, so every write
// the guest kernel submitted to the virtio disk before the kill survives,
// flushed or not. A QEMU kill thus loses what the guest had not yet written
// out (its page cache, writes still in its block layer) but never drops
// writes the disk had accepted: a crash of the board's software over a
// disk that writes through. With Config.DiskCache VolatileCache
// (volatile.go) the kill also drops unflushed writes to clusters first
// written since the last flush, as a disk's volatile cache would; dropping
// any subset of them, reordered, is the dm-log-writes crash-state replay's
// (crash_test.go).
type PowerCut struct {
	Step  string        // name of the step during which to cut
	After time.Duration // delay after the step began
}

// PowerCutReport says where the cut landed.
type PowerCutReport struct {
	Cut     bool          // QEMU was killed by the cut
	Began   bool          // the step had begun when the cut came
	Ended   bool          // the step had already ended: the cut came too late
	Elapsed time.Duration // from the step's begin marker to the kill
	// Dropped, with Config.DiskCache VolatileCache, is how many clusters
	// (64 KiB) of written data no table in the overlays refers to after
	// the kill: writes the cut lost (volatile.go).
	Dropped int
}

type cutWatch struct {
	done chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	rep  PowerCutReport
}

// watchPowerCut polls the results file for the step's begin marker, then
// kills the process After later and records whether its end marker had
// been written by then.
func watchPowerCut(p *os.Process, results string, pc *PowerCut, steps []Step) *cutWatch {
	idx := -1
	for i, s := range steps {
		if s.Name == pc.Step {
			idx = i + 1
		}
	}
	w := &cutWatch{done: make(chan struct{})}
	begin := []byte(fmt.Sprintf("%s%d %s\n", markBegin, idx, pc.Step))
	end := []byte(fmt.Sprintf("%s%d %s ", markEnd, idx, pc.Step))
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var began time.Time
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			if began.IsZero() {
				if b, _ := os.ReadFile(results); bytes.Contains(b, begin) {
					began = time.Now()
				}
				continue
			}
			if time.Since(began) < pc.After {
				continue
			}
			b, _ := os.ReadFile(results)
			err := p.Kill()
			w.mu.Lock()
			w.rep = PowerCutReport{Cut: err == nil, Began: true, Ended: bytes.Contains(b, end), Elapsed: time.Since(began)}
			w.mu.Unlock()
			return
		}
	}()
	return w
}

func (w *cutWatch) stop() *PowerCutReport {
	close(w.done)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.rep
	return &r
}
