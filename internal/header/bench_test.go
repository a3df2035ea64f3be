package header

import (
	"testing"
	"time"
)

// BenchmarkRead measures what `open` pays for the header on every boot:
// reading and verifying both copies (SHA-256 each, field validation)
// against the baseline of reading the same 8 KiB without checking. It
// reports the ratio as "x-baseline".
func BenchmarkRead(b *testing.B) {
	dev := newDev(1 << 20)
	if err := Write(dev, validHeader()); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 2*CopySize)
	var base, ours time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		for _, off := range CopyOffsets {
			if _, err := dev.ReadAt(buf[:CopySize], off); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		if _, _, err := Read(dev); err != nil {
			b.Fatal(err)
		}
		base += t1.Sub(t0)
		ours += time.Since(t1)
	}
	b.ReportMetric(float64(ours)/float64(base), "x-baseline")
}
