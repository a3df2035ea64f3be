package vm

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchSamples holds the timed runs of each case of guest/benchrun
// (iteration 0, the warm-up, is left out).
type benchSamples map[string][]time.Duration

// parseBench reads the "@@BENCH <case> <iteration> <ns>" lines benchrun
// prints, ignoring every other line.
func parseBench(out string) (benchSamples, error) {
	s := benchSamples{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || f[0] != "@@BENCH" {
			continue
		}
		if len(f) != 4 {
			return nil, fmt.Errorf("malformed benchrun line %q", sc.Text())
		}
		iter, err1 := strconv.Atoi(f[2])
		ns, err2 := strconv.ParseInt(f[3], 10, 64)
		if err1 != nil || err2 != nil || iter < 0 || ns < 0 {
			return nil, fmt.Errorf("malformed benchrun line %q", sc.Text())
		}
		if iter == 0 {
			continue
		}
		s[f[1]] = append(s[f[1]], time.Duration(ns))
	}
	return s, sc.Err()
}

// median of the samples of one case; 0 when there are none.
func (s benchSamples) median(c string) time.Duration {
	d := append([]time.Duration(nil), s[c]...)
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d)%2 == 1 {
		return d[len(d)/2]
	}
	return (d[len(d)/2-1] + d[len(d)/2]) / 2
}

// summary is "min/median/max ms (n)" of one case, for the benchmark log.
func (s benchSamples) summary(c string) string {
	d := s[c]
	if len(d) == 0 {
		return "no samples"
	}
	lo, hi := d[0], d[0]
	for _, x := range d {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("min %.1f / median %.1f / max %.1f ms over %d runs", msOf(lo), msOf(s.median(c)), msOf(hi), len(d))
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// loadAvg is the host's 1-minute load average (/proc/loadavg), -1 if unknown:
// reported with the numbers because other jobs share the build machine.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

func TestParseBench(t *testing.T) {
	out := "noise\n@@BENCH seed 0 900\n@@BENCH seed 1 300\n@@BENCH plain 1 100\n" +
		"@@BENCH seed 2 100\n@@BENCH seed 3 200\n@@BENCH plain 2 300\n"
	s, err := parseBench(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s["seed"]); got != 3 {
		t.Errorf("seed: %d samples, want 3 (warm-up dropped)", got)
	}
	if got := s.median("seed"); got != 200 {
		t.Errorf("median(seed) = %v, want 200ns", got)
	}
	if got := s.median("plain"); got != 200 {
		t.Errorf("median(plain) = %v, want 200ns (mean of the middle two)", got)
	}
	if got := s.median("none"); got != 0 {
		t.Errorf("median(none) = %v, want 0", got)
	}
	for _, bad := range []string{"@@BENCH seed 1\n", "@@BENCH seed x 1\n", "@@BENCH seed 1 -5\n"} {
		if _, err := parseBench(bad); err == nil {
			t.Errorf("parseBench(%q) accepted a malformed line", bad)
		}
	}
}
