package volume

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
)

// readHdr reads the header of a fake disk.
func readHdr(t *testing.T, dev string) (*header.Header, header.ReadReport) {
	t.Helper()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, rep, err := header.Read(f)
	if err != nil {
		t.Fatalf("header of %s: %v", dev, err)
	}
	return h, rep
}

// A format that fails after its header is written leaves a header marked
// unfinished: open names it ("did not finish", refused, never wrong key),
// and the next format goes over it without Force. A finished format
// clears the mark.
func TestUnfinishedFormat(t *testing.T) {
	for _, failAt := range []string{"mapper.Create caamcrypt-check-data", "mapper.Create data", "fs.Mkfs"} {
		t.Run(failAt, func(t *testing.T) {
			w := newWorld(t)
			m := w.manager()
			ctx := context.Background()
			dev := w.disk("vdb", diskSize)
			w.inject(failAt, errInjected)
			if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data"}); !errors.Is(err, errInjected) {
				t.Fatalf("Format = %v", err)
			}
			w.clearFailures()
			w.requireNothingLeft(t)
			if h, _ := readHdr(t, dev); !h.Unfinished() {
				t.Fatal("failed format left a header not marked unfinished")
			}
			_, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"})
			if !errors.Is(err, fail.ErrRefused) || errors.Is(err, fail.ErrWrongKey) || !strings.Contains(err.Error(), "did not finish") {
				t.Fatalf("Open of an unfinished format = %v, want refused: did not finish", err)
			}
			w.requireNothingLeft(t)
			if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data"}); err != nil {
				t.Fatalf("Format over an unfinished format without Force: %v", err)
			}
			if h, _ := readHdr(t, dev); h.Unfinished() {
				t.Fatal("finished format left the header marked unfinished")
			}
			if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"}); err != nil {
				t.Fatalf("Open after the finished format: %v", err)
			}
			// A finished volume still needs Force.
			m.Close(ctx, CloseOptions{Name: "data"})
			if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data"}); !errors.Is(err, fail.ErrRefused) {
				t.Fatalf("Format over a finished volume without Force = %v, want refused", err)
			}
		})
	}
}

// A cancelled context (SIGINT/SIGTERM in the CLI) stops format and open at
// the next step boundary and rolls everything back; the error carries the
// cancel cause.
func TestCancelRollsBack(t *testing.T) {
	errSignal := errors.New("interrupted by test signal")
	formatCalls := []string{"keys.Create", "ring.AddLogon caamcrypt:data", "mapper.Create caamcrypt-check-data",
		"mapper.Create data", "ring.Unlink", "fs.Mkfs", "mount MNT"}
	for _, at := range formatCalls {
		t.Run("format/"+at, func(t *testing.T) {
			w := newWorld(t)
			m := w.manager()
			dev := w.disk("vdb", diskSize)
			mnt := w.dir + "/mnt"
			want := strings.ReplaceAll(at, "MNT", mnt)
			ctx, cancel := context.WithCancelCause(context.Background())
			w.onCall = func(name string) {
				if name == want {
					cancel(errSignal)
				}
			}
			_, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Mount: mnt})
			if !errors.Is(err, errSignal) {
				t.Fatalf("Format cancelled at %s = %v, want the cancel cause", at, err)
			}
			w.onCall = nil
			w.requireNothingLeft(t)
			if mps := w.mounter.mounts[w.mapper.NodePath("data")]; len(mps) != 0 {
				t.Fatalf("left mounted on %v", mps)
			}
			if _, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "data", FS: FSNone}); err != nil {
				t.Fatalf("Format after the cancelled one, without Force: %v", err)
			}
		})
	}
	for _, at := range []string{"ring.AddLogon caamcrypt:data", "mapper.Create caamcrypt-check-data", "mapper.Create data", "mount MNT"} {
		t.Run("open/"+at, func(t *testing.T) {
			w := newWorld(t)
			m := w.manager()
			dev := w.disk("vdb", diskSize)
			mnt := w.dir + "/mnt"
			formatClosed(t, m, FormatOptions{Device: dev, Name: "data"})
			want := strings.ReplaceAll(at, "MNT", mnt)
			ctx, cancel := context.WithCancelCause(context.Background())
			w.onCall = func(name string) {
				if name == want {
					cancel(errSignal)
				}
			}
			_, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", Mount: mnt})
			if !errors.Is(err, errSignal) {
				t.Fatalf("Open cancelled at %s = %v, want the cancel cause", at, err)
			}
			w.onCall = nil
			w.requireNothingLeft(t)
			if mps := w.mounter.mounts[w.mapper.NodePath("data")]; len(mps) != 0 {
				t.Fatalf("left mounted on %v", mps)
			}
		})
	}
}

// A key a killed open left in the keyring is dropped by the next open,
// whether that open maps the volume or finds it mapped already.
func TestReopenDropsLeftoverKey(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	formatClosed(t, m, FormatOptions{Device: dev, Name: "data"})
	if _, err := w.ring.AddLogon(keyDescription("data"), []byte("stale key of a killed open"), m.cfg.Keyring); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"}); err != nil {
		t.Fatal(err)
	}
	if n := w.ring.count(); n != 0 {
		t.Fatalf("%d keys left after open", n)
	}
	// Killed after the mapping, before the unlink: the mapping exists.
	w.ring.AddLogon(keyDescription("data"), []byte("stale key of a killed open"), m.cfg.Keyring)
	v, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"})
	if err != nil || !v.AlreadyOpen {
		t.Fatalf("re-open = %+v, %v", v, err)
	}
	if n := w.ring.count(); n != 0 {
		t.Fatalf("%d keys left after a re-open of an open volume", n)
	}
	// --keep-key keeps it.
	w.ring.AddLogon(keyDescription("data"), []byte("kept"), m.cfg.Keyring)
	if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", KeepKey: true}); err != nil {
		t.Fatal(err)
	}
	if n := w.ring.count(); n != 1 {
		t.Fatalf("%d keys after a re-open with KeepKey, want 1", n)
	}
}

// flipByte flips one bit of the byte at off of the fake disk.
func flipByte(t *testing.T, dev string, off int64) {
	t.Helper()
	f, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	f.ReadAt(b, off)
	b[0] ^= 1
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// Open rewrites a damaged header copy from the good one (not read-only
// opens); HeaderRepair does it on request, does nothing to a good header
// and refuses when both copies are damaged.
func TestHeaderRepair(t *testing.T) {
	for i, off := range header.CopyOffsets {
		w := newWorld(t)
		m := w.manager()
		ctx := context.Background()
		dev := w.disk("vdb", diskSize)
		formatClosed(t, m, FormatOptions{Device: dev, Name: "data"})
		good := sum(t, dev)
		flipByte(t, dev, off+300)
		if _, rep := readHdr(t, dev); !rep.Damaged() {
			t.Fatal("flip did not damage the copy")
		}
		if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", ReadOnly: true}); err != nil {
			t.Fatal(err)
		}
		if _, rep := readHdr(t, dev); !rep.Damaged() {
			t.Fatalf("copy %d: a read-only open rewrote the header", i)
		}
		m.Close(ctx, CloseOptions{Name: "data"})
		if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"}); err != nil {
			t.Fatal(err)
		}
		if _, rep := readHdr(t, dev); rep.Damaged() {
			t.Fatalf("copy %d: open did not repair the header: %+v", i, rep)
		}
		m.Close(ctx, CloseOptions{Name: "data"})
		if sum(t, dev) != good {
			t.Fatalf("copy %d: the repaired device differs from the one before the damage", i)
		}
		flipByte(t, dev, off+300)
		res, err := m.HeaderRepair(ctx, dev)
		if err != nil || !res.Repaired || !strings.Contains(res.Found, "damaged") || sum(t, dev) != good {
			t.Fatalf("copy %d: HeaderRepair = %+v, %v", i, res, err)
		}
		if res, err := m.HeaderRepair(ctx, dev); err != nil || res.Repaired || sum(t, dev) != good {
			t.Fatalf("HeaderRepair of a good header = %+v, %v", res, err)
		}
	}
	w := newWorld(t)
	m := w.manager()
	dev := w.disk("vdb", diskSize)
	formatClosed(t, m, FormatOptions{Device: dev, Name: "data"})
	flipByte(t, dev, header.CopyOffsets[0]+300)
	flipByte(t, dev, header.CopyOffsets[1]+300)
	before := sum(t, dev)
	if _, err := m.HeaderRepair(context.Background(), dev); !errors.Is(err, fail.ErrWrongKey) || sum(t, dev) != before {
		t.Fatalf("HeaderRepair of two damaged copies = %v (device changed: %v)", err, sum(t, dev) != before)
	}
}

// A missing mkfs tool or kernel feature refuses format before anything is
// made: no call to the CAAM, keyring, mapper or filesystem, device unchanged.
func TestFormatPreflightWritesNothing(t *testing.T) {
	for _, at := range []string{"fs.CheckMkfs", "kernel.CryptReady"} {
		w := newWorld(t)
		m := w.manager()
		dev := w.disk("vdb", diskSize)
		before, n := sum(t, dev), w.ncalls()
		w.inject(at, errors.Join(fail.ErrNotReady, errInjected))
		_, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "data"})
		if !errors.Is(err, fail.ErrNotReady) || !strings.Contains(err.Error(), "nothing was written") {
			t.Fatalf("%s: Format = %v", at, err)
		}
		for _, c := range w.callsSince(n) {
			if !strings.HasPrefix(c, "mapper.Info") && !strings.HasPrefix(c, "mapper.List") && !strings.HasPrefix(c, "mapper.Table") {
				t.Fatalf("%s: refused format called %s", at, c)
			}
		}
		if sum(t, dev) != before {
			t.Fatalf("%s: device changed", at)
		}
		w.requireNothingLeft(t)
	}
}
