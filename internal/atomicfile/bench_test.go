package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCreate measures what crash safety costs: Create (temporary
// file, fsync, link, fsync of the directory) against the baseline of
// os.WriteFile plus one fsync, in the same process and directory, for a
// blob-sized payload. It reports the ratio as "x-baseline".
func BenchmarkCreate(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 96) // a 16-byte ECB key's blob file
	plain := func(p string) error {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o400)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	var base, ours time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := filepath.Join(dir, fmt.Sprintf("plain-%d", i))
		t0 := time.Now()
		if err := plain(p); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := Create(filepath.Join(dir, fmt.Sprintf("atomic-%d.bb", i)), data, 0o400); err != nil {
			b.Fatal(err)
		}
		base += t1.Sub(t0)
		ours += time.Since(t1)
	}
	b.ReportMetric(float64(ours)/float64(base), "x-baseline")
	b.ReportMetric(float64(base.Microseconds())/float64(b.N), "baseline-µs/op")
}
