package inplace

import "time"

// Meter turns progress callbacks into what a progress line shows: bytes
// done, total, the rate since the start (of this run: a resumed run counts
// from where it resumed) and at most one report per interval.
type Meter struct {
	Interval time.Duration // 0: every update
	start    time.Time
	first    int64
	last     time.Time
	now      func() time.Time
}

// Sample is one progress report.
type Sample struct {
	Done, Total int64
	RateBPS     int64 // bytes per second over this run, 0 before it can tell
}

// Update returns the sample for done/total and whether to show it: the
// first and last update always, others once per Interval.
func (m *Meter) Update(done, total int64) (Sample, bool) {
	clock := m.now
	if clock == nil {
		clock = time.Now
	}
	t := clock()
	if m.start.IsZero() {
		m.start, m.first, m.last = t, done, t
		return Sample{Done: done, Total: total}, true
	}
	s := Sample{Done: done, Total: total}
	if el := t.Sub(m.start).Seconds(); el > 0 {
		s.RateBPS = int64(float64(done-m.first) / el)
	}
	if done < total && t.Sub(m.last) < m.Interval {
		return s, false
	}
	m.last = t
	return s, true
}
