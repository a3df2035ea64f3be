package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// progress shows how far a long operation (format --wipe) got: one bar
// line redrawn in place on a terminal (bytes done, rate-based time left),
// plain "NN%" lines otherwise (logs, serial consoles, the QEMU rig), at
// most one per 10%. The bar is drawn here rather than by a progress-bar
// module: the one used before pulled net/http and TLS into the binary
// (about 1 MB on arm64) for one line of output.
type progress struct {
	w     io.Writer
	what  string
	tty   bool
	start time.Time
	drawn time.Time // last redraw (terminal mode)
	last  int64     // last percentage printed (plain mode)
}

// barRedraw is the least time between two redraws of the bar.
const barRedraw = 100 * time.Millisecond

func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, what: what, tty: isTerminal(w), last: -1}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) update(done, total int64) {
	if total <= 0 {
		return
	}
	if p.tty {
		now := time.Now()
		if p.start.IsZero() {
			p.start = now
		}
		if done < total && now.Sub(p.drawn) < barRedraw {
			return
		}
		p.drawn = now
		fmt.Fprint(p.w, "\r"+barLine(p.what, done, total, now.Sub(p.start)))
		return
	}
	step := done * 100 / total / 10 * 10
	if step > p.last {
		fmt.Fprintf(p.w, "%s: %d%%\n", p.what, step)
		p.last = step
	}
}

func (p *progress) finish() {
	if p.tty && !p.drawn.IsZero() {
		fmt.Fprintln(p.w)
	}
}

// barWidth is the number of cells of the bar.
const barWidth = 30

// barLine is one redraw of the bar: what, percentage, bar, bytes done of
// total and, once a rate is known, the time left at that rate.
func barLine(what string, done, total int64, elapsed time.Duration) string {
	done = min(max(done, 0), total)
	fill := int(done * barWidth / total)
	line := fmt.Sprintf("%s %3d%% [%s%s] %s / %s", what, done*100/total,
		strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill), humanBytes(done), humanBytes(total))
	if done > 0 && done < total && elapsed > 0 {
		left := time.Duration(float64(elapsed) * float64(total-done) / float64(done)).Round(time.Second)
		line += fmt.Sprintf(", %s left", left)
	}
	return line + "   " // covers the tail of a longer previous line
}
