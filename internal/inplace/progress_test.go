package inplace

import (
	"testing"
	"time"
)

func TestMeterRateAndThrottle(t *testing.T) {
	now := time.Unix(1000, 0)
	m := &Meter{Interval: time.Second, now: func() time.Time { return now }}
	if _, show := m.Update(100, 1000); !show {
		t.Fatal("first update not shown")
	}
	now = now.Add(500 * time.Millisecond)
	if s, show := m.Update(300, 1000); show || s.RateBPS != 400 {
		t.Fatalf("within the interval: show %v rate %d", show, s.RateBPS)
	}
	now = now.Add(600 * time.Millisecond)
	if _, show := m.Update(500, 1000); !show {
		t.Fatal("after the interval not shown")
	}
	if _, show := m.Update(1000, 1000); !show {
		t.Fatal("last update not shown")
	}
}
