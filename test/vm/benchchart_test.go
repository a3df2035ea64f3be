package vm

import (
	"fmt"
	"html"
	"strings"
	"testing"
	"time"
)

// chartSVG draws the throughput table as grouped horizontal bars: one group
// per pattern, one pair of bars per encrypted target (model off and on),
// each the median fraction of the raw disk with its min-max spread as a
// whisker (cut at the axis, which ends a little past the largest median:
// random 4 KiB spreads under TCG reach several times raw). Plain SVG from
// Go, no plotting dependency.
func (res *ioResults) chartSVG(caption string) []byte {
	const (
		left, right = 250.0, 130.0
		width       = 900.0
		barH, gap   = 11.0, 7.0
		groupGap    = 26.0
	)
	// The caption (what was run, where, when) one clause a line.
	caption = strings.TrimSpace(caption)
	lines := strings.Split(caption, "; ")
	top := 70.0 + 13*float64(len(lines)-1)
	targets := ioTargets[1:]
	maxFrac := 1.0
	for _, t := range targets {
		for _, p := range ioPatterns {
			for _, m := range []string{"off", "on"} {
				maxFrac = max(maxFrac, res.stat(m, t.name, p).frac)
			}
		}
	}
	maxFrac *= 1.15
	plotW := width - left - right
	x := func(f float64) float64 { return left + min(f, maxFrac)/maxFrac*plotW }
	groupH := float64(len(targets))*(2*barH+gap) + groupGap
	height := top + float64(len(ioPatterns))*groupH + 40
	colours := map[string]string{"off": "#8da0cb", "on": "#e5804a"}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">dm-crypt through tk(cbc(aes)): throughput as a fraction of the raw disk (median, whisker = min-max)</text>`+"\n")
	for i, l := range lines {
		fmt.Fprintf(&b, `<text x="10" y="%d" font-size="10">%s</text>`+"\n", 36+13*i, html.EscapeString(l))
	}
	legendY := top - 22
	for i, m := range []string{"off", "on"} {
		label := "caamsim model off (the guest's AES-NI under TCG)"
		if m == "on" {
			label = "caamsim CAAM timing model on"
		}
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			10+float64(i)*340, legendY, colours[m], 26+float64(i)*340, legendY+10, label)
	}
	// Grid at every 0.25 of raw.
	for f := 0.0; f <= maxFrac+1e-9; f += 0.25 {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/>`+"\n", x(f), top-6, x(f), height-34)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle" font-size="10">%.2f</text>`+"\n", x(f), height-20, f)
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#444" stroke-dasharray="4,3"/>`+"\n", x(1), top-6, x(1), height-34)
	y := top
	for _, p := range ioPatterns {
		fmt.Fprintf(&b, `<text x="10" y="%.0f" font-weight="bold">%s</text>`+"\n", y+4, p)
		y += 10
		for _, t := range targets {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+barH+4, html.EscapeString(t.label))
			for _, m := range []string{"off", "on"} {
				st := res.stat(m, t.name, p)
				fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="%.0f" fill="%s"/>`+"\n", left, y, x(st.frac)-left, barH, colours[m])
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", x(st.fracLo), y+barH/2, x(st.fracHi), y+barH/2)
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="10">%.2f (%.1f MiB/s)</text>`+"\n", max(x(st.frac), x(st.fracHi))+4, y+barH-2, st.frac, st.mibps)
				y += barH
			}
			y += gap
		}
		y += groupGap - 10
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">fraction of raw disk throughput, same round</text>`+"\n", left+plotW/2, height-6)
	b.WriteString("</svg>\n")
	return []byte(b.String())
}

// TestChartSVG draws a chart of made-up runs and checks it is SVG with one
// bar and one whisker per target, pattern and model state.
func TestChartSVG(t *testing.T) {
	res := &ioResults{cfg: ioConfig{rounds: 2, overheadNS: 1000, perKiB: 1000}}
	for r := 1; r <= 2; r++ {
		for _, m := range []string{"off", "on"} {
			for i, tg := range ioTargets {
				for _, p := range ioPatterns {
					res.runs = append(res.runs, ioRun{m, tg.name, p, r, 1 << 20, time.Duration(10_000_000 * (1 + i)), 1})
				}
			}
		}
	}
	svg := string(res.chartSVG("caption <&>"))
	if !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(svg, "</svg>\n") {
		t.Fatalf("not an SVG document:\n%s", svg)
	}
	bars := len(ioPatterns) * (len(ioTargets) - 1) * 2
	if got := strings.Count(svg, `height="11"`); got != bars {
		t.Errorf("%d bars, want %d", got, bars)
	}
	if !strings.Contains(svg, "caption &lt;&amp;&gt;") {
		t.Error("caption not escaped")
	}
	// Target i takes i+1 times raw's time: fraction 1/(i+1), e.g. seed 0.50.
	if !strings.Contains(svg, ">0.50 (") || !strings.Contains(svg, ">0.20 (") {
		t.Errorf("fractions 0.50 (seed) and 0.20 (s4096nowq) missing:\n%s", svg)
	}
}
