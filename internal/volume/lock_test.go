package volume

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// A second Lock of the same name waits for the first unlock (real flock).
func TestLockSerialises(t *testing.T) {
	l := &flockLocker{dir: filepath.Join(t.TempDir(), "run")}
	unlock, err := l.Lock(context.Background(), "data")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	go func() {
		u2, err := l.Lock(context.Background(), "data")
		if err != nil {
			t.Error(err)
			got <- time.Time{}
			return
		}
		got <- time.Now()
		u2()
	}()
	time.Sleep(100 * time.Millisecond)
	released := time.Now()
	unlock()
	if at := <-got; at.Before(released) {
		t.Fatal("second lock was granted while the first was held")
	}
	// Another name is independent.
	u3, err := l.Lock(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	u3()
	// A context that ends while waiting gives up.
	unlock, _ = l.Lock(context.Background(), "data")
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Lock(ctx, "data"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lock with an expiring context = %v", err)
	}
}

// Two concurrent opens of one volume: one mapping, both succeed.
func TestConcurrentOpensSerialise(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	formatClosed(t, m, FormatOptions{Device: dev, Name: "data", FS: FSNone})
	w.keys.delay = 150 * time.Millisecond // widen the window a race would need
	n := w.ncalls()
	var wg sync.WaitGroup
	res := make([]*Volume, 2)
	errs := make([]error, 2)
	for i := range res {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i], errs[i] = w.manager().Open(ctx, OpenOptions{Device: dev, Name: "data"})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
	if res[0].AlreadyOpen == res[1].AlreadyOpen {
		t.Fatalf("AlreadyOpen %v/%v: want exactly one open to map", res[0].AlreadyOpen, res[1].AlreadyOpen)
	}
	creates := 0
	for _, c := range w.callsSince(n) {
		if c == "mapper.Create data" {
			creates++
		}
	}
	if creates != 1 {
		t.Fatalf("payload mapped %d times, want 1", creates)
	}
}

// Two concurrent opens of one device under two names: the name lock alone
// does not serialise them, and both passed the "already mapped" check and
// mapped the device twice (two read-write views, two mounts of one
// filesystem). One must map, the other be refused.
func TestConcurrentOpensOfOneDeviceUnderTwoNames(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	formatClosed(t, m, FormatOptions{Device: dev, Name: "data", FS: FSNone})
	w.keys.delay = 150 * time.Millisecond // widen the window a race would need
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"a", "b"} {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			_, errs[i] = w.manager().Open(ctx, OpenOptions{Device: dev, Name: name})
		}(i, name)
	}
	wg.Wait()
	if maps := w.mapper.names(); len(maps) != 1 {
		t.Fatalf("device mapped as %v, want exactly one mapping (errors %v)", maps, errs)
	}
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("errors %v: want one open to succeed and one to be refused", errs)
	}
	for _, err := range errs {
		if err != nil && !errors.Is(err, fail.ErrRefused) {
			t.Fatalf("second open = %v, want refused", err)
		}
	}
}
