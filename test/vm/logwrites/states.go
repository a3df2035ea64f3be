package logwrites

import (
	"fmt"
	"math/rand"
)

// State is one crash state of a window of the log: the device as it was at
// the window's start, then the entries of InOrder applied in log order,
// then those of Extra in the order given. InOrder always ends at a point a
// disk may have reached; Extra are writes that were still in the disk's
// volatile cache (after the last flush) and that this state keeps, possibly
// reordered.
type State struct {
	Name    string
	InOrder [2]int // entries [InOrder[0], InOrder[1]) in log order
	Extra   []int  // indices of unflushed entries applied after, in this order
}

// durableBefore returns the smallest p such that a crash after entries
// [0, c) has entries [0, p) on stable storage: a flush entry j makes every
// entry before j durable, a flush that is also FUA (a journal commit block)
// also itself.
func (l *Log) durableBefore(from, c int) int {
	for j := c - 1; j >= from; j-- {
		e := &l.Entries[j]
		if e.Flags&FlagFlush != 0 {
			if e.Flags&FlagFUA != 0 {
				return j + 1
			}
			return j
		}
	}
	return from
}

// States returns the crash states of the window [from, to): the state at
// every durable point (just before each flush, just after each flush or FUA
// write), the complete window, and samples random states: a random cut,
// everything durable at it, and a random subset of the unflushed writes
// before it (FUA writes always kept), shuffled. rng makes the samples
// reproducible (seeded by the caller).
func (l *Log) States(from, to, samples int, rng *rand.Rand) []State {
	var out []State
	add := func(name string, a, b int) { out = append(out, State{Name: name, InOrder: [2]int{a, b}}) }
	add("start", from, from)
	for i := from; i < to; i++ {
		e := &l.Entries[i]
		if e.Flags&FlagFlush != 0 {
			add(fmt.Sprintf("before-flush@%d", i), from, i)
		}
		if e.Durable() {
			add(fmt.Sprintf("after-durable@%d", i), from, i+1)
		}
	}
	add("end", from, to)
	if to <= from {
		return out
	}
	for s := 0; s < samples; s++ {
		c := from + 1 + rng.Intn(to-from)
		p := l.durableBefore(from, c)
		var extra []int
		for j := p; j < c; j++ {
			e := &l.Entries[j]
			if !e.IsWrite() {
				continue
			}
			if e.Flags&FlagFUA != 0 || rng.Intn(2) == 0 {
				extra = append(extra, j)
			}
		}
		rng.Shuffle(len(extra), func(a, b int) { extra[a], extra[b] = extra[b], extra[a] })
		out = append(out, State{Name: fmt.Sprintf("sample-%d@%d..%d", s, p, c), InOrder: [2]int{from, p}, Extra: extra})
	}
	return out
}

// Build returns the image of state st, given the image at the window's
// start (not modified).
func (l *Log) Build(start []byte, st State) ([]byte, error) {
	img := make([]byte, len(start))
	copy(img, start)
	if err := l.ApplyRange(img, st.InOrder[0], st.InOrder[1]); err != nil {
		return nil, err
	}
	for _, j := range st.Extra {
		if err := l.Apply(img, &l.Entries[j]); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// Writes counts the entries of [from, to) that change the device.
func (l *Log) Writes(from, to int) (writes, flushes int) {
	for i := from; i < to; i++ {
		if l.Entries[i].IsWrite() {
			writes++
		}
		if l.Entries[i].Durable() {
			flushes++
		}
	}
	return
}
