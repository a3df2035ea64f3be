package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// The terminal bar: fill, percentage, bytes and time left from the rate.
func TestProgressBarLine(t *testing.T) {
	got := barLine("wiping", 64<<20, 256<<20, 10*time.Second)
	for _, want := range []string{"wiping  25% [=======       ", "] 64.0MiB / 256.0MiB", ", 30s left"} {
		if !strings.Contains(got, want) {
			t.Errorf("barLine = %q, want it to contain %q", got, want)
		}
	}
	if got := barLine("wiping", 256<<20, 256<<20, time.Second); !strings.Contains(got, "100% [==============================]") || strings.Contains(got, "left") {
		t.Errorf("barLine at the end = %q", got)
	}
	if got := barLine("x", -5, 100, 0); !strings.Contains(got, "  0% [    ") || !strings.Contains(got, "0B / 100B") {
		t.Errorf("barLine below zero = %q", got)
	}
}

// A terminal writer gets \r redraws, throttled, the last one at 100%,
// then a newline.
func TestProgressTerminalRedraws(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, what: "wiping", tty: true, last: -1}
	for done := int64(0); done <= 1000; done += 10 {
		p.update(done, 1000)
	}
	p.finish()
	out := b.String()
	if n := strings.Count(out, "\r"); n < 2 || n > 10 {
		t.Errorf("%d redraws for a fast run, want the first, the last and few between: %q", n, out)
	}
	if !strings.HasSuffix(out, "\n") || !strings.Contains(out, "100% [") {
		t.Errorf("output %q does not end at 100%% with a newline", out)
	}
}
