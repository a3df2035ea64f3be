package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

func TestOpenRollback(t *testing.T) {
	cases := []struct {
		failAt  string
		keepKey bool
		undo    []string
	}{
		{"mapper.Create caamcrypt-check-data", false, []string{"ring.Unlink"}},
		{"mapper.Create data", false, []string{"ring.Unlink"}},
		{"fs.Fsck", false, []string{"mapper.Remove data"}},
		{"fs.Fsck", true, []string{"mapper.Remove data", "ring.Unlink"}},
		{"mount MNT", false, []string{"mapper.Remove data"}},
	}
	for _, c := range cases {
		t.Run(c.failAt, func(t *testing.T) {
			w := newWorld(t)
			m := w.manager()
			ctx := context.Background()
			dev := w.disk("vdb", diskSize)
			mnt := filepath.Join(w.dir, "mnt")
			if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data"}); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
				t.Fatal(err)
			}
			failAt := strings.ReplaceAll(c.failAt, "MNT", mnt)
			w.inject(failAt, errInjected)
			_, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", Mount: mnt, KeepKey: c.keepKey})
			if !errors.Is(err, errInjected) {
				t.Fatalf("Open = %v, want the injected failure", err)
			}
			if undo := after(w.callsSince(0), failAt); !slices.Equal(undo, c.undo) {
				t.Fatalf("after %s failed the calls were %q, want %q", c.failAt, undo, c.undo)
			}
			w.requireNothingLeft(t)
		})
	}
}

func TestOpenAndCloseAreIdempotent(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	mnt := filepath.Join(w.dir, "mnt")
	if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data"}); err != nil {
		t.Fatal(err)
	}
	n := w.ncalls()
	v, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"})
	if err != nil || !v.AlreadyOpen {
		t.Fatalf("second open = %+v, %v; want success, already open", v, err)
	}
	// Only the look-up for a key a killed open left may run: it changes nothing.
	if calls := slices.DeleteFunc(w.callsSince(n), func(c string) bool { return c == "ring.Search caamcrypt:data" }); len(calls) != 0 {
		t.Fatalf("open of an open volume called %v", calls)
	}
	// Open with --mount on the mapped volume mounts it, once.
	for i := 0; i < 2; i++ {
		if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", Mount: mnt}); err != nil {
			t.Fatal(err)
		}
	}
	if mps, _ := w.mounter.MountPoints(w.mapper.NodePath("data")); !slices.Equal(mps, []string{mnt}) {
		t.Fatalf("mount points %v, want [%s]", mps, mnt)
	}
	// By name only, as open NAME does once the volume is mapped.
	if v, err := m.Open(ctx, OpenOptions{Name: "data"}); err != nil || !v.AlreadyOpen {
		t.Fatalf("open by name = %+v, %v", v, err)
	}
	for i := 0; i < 2; i++ {
		if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
			t.Fatalf("close #%d: %v", i+1, err)
		}
	}
	if err := m.Close(ctx, CloseOptions{Name: "never-opened"}); err != nil {
		t.Fatalf("close of a volume never opened: %v", err)
	}
	if mps, _ := w.mounter.MountPoints(w.mapper.NodePath("data")); len(mps) != 0 {
		t.Fatalf("still mounted on %v", mps)
	}
	_, err = m.Open(ctx, OpenOptions{Name: "data"})
	if !errors.Is(err, fail.ErrNotFound) {
		t.Fatalf("open by name of a closed volume = %v, want not found", err)
	}
}

func TestOpenRefusesNameOnAnotherDevice(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	a, b := w.disk("a", diskSize), w.disk("b", diskSize)
	for _, d := range []string{a, b} {
		if _, err := m.Format(ctx, FormatOptions{Device: d, Name: filepath.Base(d), FS: FSNone}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(ctx, CloseOptions{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Open(ctx, OpenOptions{Device: b, Name: "a"}); !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("open b under a's name = %v, want refused", err)
	}
	// And a device open under one name is not opened again under another.
	if _, err := m.Open(ctx, OpenOptions{Device: a, Name: "a2"}); !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("open a under a second name = %v, want refused", err)
	}
}

func TestOpenWrongKey(t *testing.T) {
	for _, c := range []struct {
		name   string
		set    func(k *fakeKeys)
		phrase string
	}{
		{"stale black key", func(k *fakeKeys) { k.stale = true }, "the key does not open volume data"},
		{"foreign blob", func(k *fakeKeys) { k.foreign = true }, "made on another device or is corrupt: CAAM integrity check failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			m := w.manager()
			ctx := context.Background()
			dev := w.disk("vdb", diskSize)
			if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data"}); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
				t.Fatal(err)
			}
			before, n := sum(t, dev), w.ncalls()
			c.set(w.keys)
			_, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", Mount: filepath.Join(w.dir, "mnt")})
			if !errors.Is(err, fail.ErrWrongKey) || !strings.Contains(err.Error(), c.phrase) {
				t.Fatalf("Open = %v, want wrong key saying %q", err, c.phrase)
			}
			w.requireNothingLeft(t)
			if sum(t, dev) != before {
				t.Fatal("a refused open changed the device")
			}
			if slices.Contains(w.callsSince(n), "mapper.Create data") {
				t.Fatal("the payload was mapped with a wrong key")
			}
		})
	}
}

func TestStaleCheckMappingIsRemoved(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	formatClosed(t, m, FormatOptions{Device: dev, Name: "data", FS: FSNone})
	// A run killed between creating and removing the key-check mapping.
	w.inject("mapper.Remove caamcrypt-check-data", errInjected)
	if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"}); !errors.Is(err, errInjected) {
		t.Fatalf("Open = %v", err)
	}
	w.clearFailures()
	if w.mapper.get(checkName("data")) == nil {
		t.Fatal("test setup: no stale key-check mapping")
	}
	if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"}); err != nil {
		t.Fatalf("Open after a killed run: %v", err)
	}
	if got := w.mapper.names(); !slices.Equal(got, []string{"data"}) {
		t.Fatalf("mappings %v, want [data]", got)
	}
}

func TestOpenPlainRefusesCAAMCryptVolume(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	formatClosed(t, m, FormatOptions{Device: dev, Name: "data", FS: FSNone})
	if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", Type: TypePlain}); !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("plain open of a caamcrypt volume = %v, want refused", err)
	}
	if got := w.mapper.names(); len(got) != 0 {
		t.Fatalf("mappings left: %v", got)
	}
}

// TestCloseDropsKeyOfKilledOpen: an open killed after loading the key but
// before any mapping existed leaves only the key; close NAME drops it for
// both volume types (seen in the QEMU rig with kill -9 during open).
func TestCloseDropsKeyOfKilledOpen(t *testing.T) {
	for _, typ := range []string{TypeCAAMCrypt, TypePlain} {
		w := newWorld(t)
		m := w.manager()
		ctx := context.Background()
		dev := w.disk("vdb", diskSize)
		if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Type: typ, FS: FSNone}); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
			t.Fatal(err)
		}
		// What a killed open leaves: its key, under the description the
		// open used, and nothing mapped (the rollback cannot unlink here).
		w.inject("mapper.Create caamcrypt-check-data", errInjected)
		w.inject("mapper.Create data", errInjected)
		w.inject("ring.Unlink", errInjected)
		o := OpenOptions{Device: dev, Name: "data", Type: typ}
		if _, err := m.Open(ctx, o); !errors.Is(err, errInjected) {
			t.Fatalf("%s: Open = %v", typ, err)
		}
		w.clearFailures()
		if w.ring.count() != 1 || len(w.mapper.names()) != 0 {
			t.Fatalf("%s: test setup: keys %d, mappings %v", typ, w.ring.count(), w.mapper.names())
		}
		if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
			t.Fatalf("%s: Close = %v", typ, err)
		}
		if n := w.ring.count(); n != 0 {
			t.Fatalf("%s: %d key(s) left in the keyring after close", typ, n)
		}
	}
}

// Opening an open volume is idempotent only when the mapping is this
// volume as its header (or the plain options) describe it: a mapping of the
// same name over the same device with another layout decrypts something
// else, and reporting it as "already open" would let it be mounted and
// written.
func TestOpenRefusesMappingWithOtherParameters(t *testing.T) {
	ctx := context.Background()
	t.Run("caamcrypt volume mapped with the seed's layout", func(t *testing.T) {
		w := newWorld(t)
		m := w.manager()
		dev := w.disk("vdb", diskSize)
		if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", FS: FSNone}); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
			t.Fatal(err)
		}
		// As `dmsetup create data` with the seed's table would: offset 0, 512.
		if _, err := w.ring.AddLogon("logkey:", make([]byte, 52), 0); err != nil {
			t.Fatal(err)
		}
		tgt, err := cryptSpec{Cipher: DefaultCipher, KeyLen: 52, KeyDesc: "logkey:", Device: dev, Length: diskSize, SectorSize: 512}.target()
		if err != nil {
			t.Fatal(err)
		}
		if err := w.mapper.Create("data", []dm.Target{tgt}, dm.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		v, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data"})
		if !errors.Is(err, fail.ErrRefused) {
			t.Fatalf("open over a mapping with another layout = %+v, %v; want refused", v, err)
		}
	})
	t.Run("plain volume with another sector size", func(t *testing.T) {
		w := newWorld(t)
		m := w.manager()
		dev := w.disk("vdb", diskSize)
		if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Type: TypePlain, FS: FSNone}); err != nil {
			t.Fatal(err)
		}
		v, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", Type: TypePlain, SectorSize: 4096})
		if !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), "sector size") {
			t.Fatalf("open with sector size 4096 over a 512 mapping = %+v, %v; want refused naming the sector size", v, err)
		}
		if v, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", Type: TypePlain}); err != nil || !v.AlreadyOpen {
			t.Fatalf("open with the same parameters = %+v, %v; want already open", v, err)
		}
	})
}

// A run killed between the kernel's resume and libdevmapper's mknod (no
// udev) leaves a caamcrypt mapping without its /dev/mapper node, and its
// key in the keyring; seen in the QEMU rig's kill -9 loop. Close and open
// must handle it: close removes it, open maps the volume again.
func TestMappingWithoutNode(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*world, *Manager, string) {
		w := newWorld(t)
		m := w.manager()
		dev := w.disk("vdb", diskSize)
		if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data"}); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", KeepKey: true}); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(w.mapper.NodePath("data")); err != nil {
			t.Fatal(err)
		}
		return w, m, dev
	}
	t.Run("close", func(t *testing.T) {
		w, m, _ := setup(t)
		if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
			t.Fatalf("close of a mapping without node: %v", err)
		}
		w.requireNothingLeft(t)
	})
	t.Run("open", func(t *testing.T) {
		w, m, dev := setup(t)
		mnt := filepath.Join(w.dir, "mnt")
		v, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", Mount: mnt})
		if err != nil {
			t.Fatalf("open over a mapping without node: %v", err)
		}
		if _, err := os.Stat(v.Node); err != nil || v.AlreadyOpen {
			t.Fatalf("open = %+v, node: %v; want a fresh mapping with its node", v, err)
		}
		if mps, _ := w.mounter.MountPoints(v.Node); !slices.Equal(mps, []string{mnt}) {
			t.Fatalf("mount points %v, want [%s]", mps, mnt)
		}
	})
}
