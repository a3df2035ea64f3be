package main

import (
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a long operation (format --wipe) got: a bar on a
// terminal, plain "NN%" lines otherwise (logs, serial consoles, the QEMU
// rig), at most one per 10%.
type progress struct {
	w    io.Writer
	what string
	bar  *progressbar.ProgressBar
	last int64 // last percentage printed (plain mode)
}

func newProgress(w io.Writer, what string) *progress {
	return &progress{w: w, what: what, last: -1}
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
	if isTerminal(p.w) {
		if p.bar == nil {
			p.bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(p.what),
				progressbar.OptionShowBytes(true),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(100e6),
			)
		}
		p.bar.Set64(done)
		return
	}
	step := done * 100 / total / 10 * 10
	if step > p.last {
		fmt.Fprintf(p.w, "%s: %d%%\n", p.what, step)
		p.last = step
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
