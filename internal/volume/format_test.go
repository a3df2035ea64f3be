package volume

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

func TestFormatWriteCloseOpenRead(t *testing.T) {
	for _, typ := range []string{TypeCAAMCrypt, TypePlain} {
		t.Run(typ, func(t *testing.T) {
			w := newWorld(t)
			m := w.manager()
			ctx := context.Background()
			dev := w.disk("vdb", diskSize)
			mnt := filepath.Join(w.dir, "mnt")
			v, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Label: "data", Type: typ, Mount: mnt})
			if err != nil {
				t.Fatalf("Format: %v", err)
			}
			if v.Node != w.mapper.NodePath("data") || v.MountPoint != mnt {
				t.Fatalf("Format returned %+v", v)
			}
			if n := w.ring.count(); n != 0 {
				t.Fatalf("%d keys left in the keyring after format, want 0 (unlinked after table load)", n)
			}
			secret := []byte("Encrypted data: the plaintext that must never reach the raw device")
			writeNode(t, v.Node, 1<<20, secret)
			if err := m.Close(ctx, CloseOptions{Name: "data"}); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := w.mapper.names(); len(got) != 0 {
				t.Fatalf("mappings after close: %v", got)
			}
			raw, _ := os.ReadFile(dev)
			if bytes.Contains(raw, secret) {
				t.Fatal("raw device holds the plaintext")
			}
			v2, err := m.Open(ctx, OpenOptions{Device: dev, Name: "data", Type: typ, Mount: mnt})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if got := readNode(t, v2.Node, 1<<20, len(secret)); !bytes.Equal(got, secret) {
				t.Fatalf("read back %q, want %q", got, secret)
			}
			mps, _ := w.mounter.MountPoints(v2.Node)
			if !slices.Equal(mps, []string{mnt}) {
				t.Fatalf("mount points %v, want [%s]", mps, mnt)
			}
			if typ == TypeCAAMCrypt && v2.SectorSize != 4096 || typ == TypePlain && v2.SectorSize != 512 {
				t.Fatalf("sector size %d for %s", v2.SectorSize, typ)
			}
		})
	}
}

// The plain table is exactly the seed's, so dmsetup users and caamcrypt
// interoperate.
func TestPlainTableIsTheSeeds(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	dev := w.disk("vdb", diskSize)
	_, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "data", Type: TypePlain, KeySize: 16, Enc: "ecb", FS: FSNone})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := w.mapper.Table("data")
	if err != nil {
		t.Fatal(err)
	}
	want := "capi:tk(cbc(aes))-plain :36:logon:caamcrypt:data 0 " + dev + " 0 1 sector_size:512"
	if len(ts) != 1 || ts[0].Params != want || ts[0].Start != 0 || ts[0].Length != diskSize/512 || ts[0].Type != "crypt" {
		t.Fatalf("table %+v\nwant 0 %d crypt %s", ts, diskSize/512, want)
	}
	if _, ok := w.store.blobs["data"]; !ok {
		t.Fatal("plain format did not save the key files under the volume name")
	}
}

func TestFormatRefusesWithoutForce(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(w *world, m *Manager, dev string)
		want    string
		force   bool // --force still refused
	}{
		{"mounted", func(w *world, m *Manager, dev string) {
			w.devices.inUse[dev] = []probe.Finding{{Kind: "mounted", Detail: "mounted on /mnt (ext4)"}}
			w.devices.busy = true
		}, "is in use: mounted on /mnt (ext4); unmount", true},
		{"held", func(w *world, m *Manager, dev string) {
			w.devices.inUse[dev] = []probe.Finding{{Kind: "holder", Detail: "used by dm-3"}}
			w.devices.busy = true
		}, "is in use: used by dm-3; unmount", true},
		{"mapped", func(w *world, m *Manager, dev string) {
			if _, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "other", FS: FSNone}); err != nil {
				w.t.Fatal(err)
			}
			w.devices.busy = true // the mapping holds the device
		}, "is in use: mapped as dm-crypt volume other; unmount", true},
		{"header", func(w *world, m *Manager, dev string) {
			if _, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "old", FS: FSNone}); err != nil {
				w.t.Fatal(err)
			}
			if err := m.Close(context.Background(), CloseOptions{Name: "old"}); err != nil {
				w.t.Fatal(err)
			}
		}, "caamcrypt", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			m := w.manager()
			dev := w.disk("vdb", diskSize)
			c.prepare(w, m, dev)
			before, n := sum(t, dev), w.ncalls()
			_, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "data"})
			if !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Format = %v, want refused naming %q", err, c.want)
			}
			if calls := w.callsSince(n); len(calls) != 0 {
				t.Fatalf("refused format still called %v", calls)
			}
			if sum(t, dev) != before {
				t.Fatal("refused format changed the device")
			}
			_, err = m.Format(context.Background(), FormatOptions{Device: dev, Name: "data", Force: true})
			if c.force && !errors.Is(err, fail.ErrRefused) {
				t.Fatalf("forced format of a busy device = %v, want refused", err)
			}
			if !c.force && err != nil {
				t.Fatalf("forced format = %v, want success", err)
			}
		})
	}
}

func TestFormatRefusesExistingMappingName(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	if _, err := m.Format(ctx, FormatOptions{Device: w.disk("a", diskSize), Name: "data", FS: FSNone}); err != nil {
		t.Fatal(err)
	}
	_, err := m.Format(ctx, FormatOptions{Device: w.disk("b", diskSize), Name: "data", FS: FSNone})
	if !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("format under a mapped name = %v, want refused", err)
	}
}

// Each failing step of format undoes exactly what was done, newest first.
func TestFormatRollback(t *testing.T) {
	cases := []struct {
		typ, failAt string
		undo        []string
	}{
		{TypeCAAMCrypt, "keys.Create", nil},
		{TypeCAAMCrypt, "store.SaveNew data", nil},
		{TypeCAAMCrypt, "ring.AddLogon caamcrypt:data", []string{"store.Remove data"}},
		{TypeCAAMCrypt, "mapper.Create caamcrypt-check-data", []string{"ring.Unlink", "store.Remove data"}},
		{TypeCAAMCrypt, "mapper.Create data", []string{"ring.Unlink", "store.Remove data"}},
		{TypeCAAMCrypt, "fs.Mkfs", []string{"mapper.Remove data", "store.Remove data"}},
		{TypeCAAMCrypt, "mount MNT", []string{"mapper.Remove data", "store.Remove data"}},
		{TypePlain, "ring.AddLogon caamcrypt:data", []string{"store.Remove data"}},
		{TypePlain, "mapper.Create data", []string{"ring.Unlink", "store.Remove data"}},
		{TypePlain, "fs.Mkfs", []string{"mapper.Remove data", "store.Remove data"}},
	}
	for _, c := range cases {
		t.Run(c.typ+"/"+c.failAt, func(t *testing.T) {
			w := newWorld(t)
			m := w.manager()
			dev := w.disk("vdb", diskSize)
			mnt := filepath.Join(w.dir, "mnt")
			failAt := strings.ReplaceAll(c.failAt, "MNT", mnt)
			w.inject(failAt, errInjected)
			o := FormatOptions{Device: dev, Name: "data", Type: c.typ, Mount: mnt, SaveKey: c.typ == TypeCAAMCrypt}
			_, err := m.Format(context.Background(), o)
			if !errors.Is(err, errInjected) {
				t.Fatalf("Format = %v, want the injected failure", err)
			}
			undo := after(w.callsSince(0), failAt)
			for i := range undo {
				undo[i] = strings.ReplaceAll(undo[i], mnt, "MNT")
			}
			if !slices.Equal(undo, c.undo) {
				t.Fatalf("after %s failed the calls were %q, want %q\nall calls: %q", c.failAt, undo, c.undo, norm(w.callsSince(0)))
			}
			w.requireNothingLeft(t)
			if len(w.store.blobs) != 0 {
				t.Fatalf("key files left: %v", w.store.blobs)
			}
			// The key is loaded into the keyring before the header is written.
			headerWritten := c.typ == TypeCAAMCrypt && !strings.HasPrefix(c.failAt, "keys.") && !strings.HasPrefix(c.failAt, "store.") &&
				!strings.HasPrefix(c.failAt, "ring.AddLogon")
			if says := strings.Contains(err.Error(), "unfinished format stays"); says != headerWritten {
				t.Fatalf("error %q: mentions the header = %v, want %v", err, says, headerWritten)
			}
		})
	}
}

// TestDescribeFindings: probe's details are whole phrases; the message must
// not repeat the kind in front of them (seen in the QEMU rig as
// "mounted mounted on /mnt/d" and "filesystem ext4 filesystem").
func TestDescribeFindings(t *testing.T) {
	got := describe([]probe.Finding{
		{Kind: probe.KindMounted, Detail: "mounted on /mnt/d (ext4)"},
		{Kind: probe.KindFilesystem, Detail: "ext4 filesystem, UUID 1234"},
		{Kind: probe.KindBusy},
	})
	if want := "mounted on /mnt/d (ext4), ext4 filesystem, UUID 1234, busy"; got != want {
		t.Fatalf("describe = %q, want %q", got, want)
	}
}

// O_EXCL means nothing for a regular file, so for an image attached to a
// loop device (maybe mapped or mounted through it) the kernel does not stop
// a forced format: the in-use finding must, with --force too.
func TestFormatForceRefusesImageInUse(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	dev := w.disk("disk.img", diskSize)
	w.devices.inUse[dev] = []probe.Finding{{Kind: probe.KindLoop, Detail: "attached to /dev/loop0"},
		{Kind: probe.KindMounted, Detail: "loop0 mounted on /mnt (ext4)"}}
	before, n := sum(t, dev), w.ncalls()
	_, err := m.Format(context.Background(), FormatOptions{Device: dev, Name: "data", Force: true})
	if !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), "attached to /dev/loop0") {
		t.Fatalf("forced format of an image in use = %v, want refused naming the loop device", err)
	}
	if calls := w.callsSince(n); len(calls) != 0 {
		t.Fatalf("refused format still called %v", calls)
	}
	if sum(t, dev) != before {
		t.Fatal("refused format changed the image")
	}
}

// A plain volume has no header, so its raw device looks empty to the
// signature probe; formatting it again with its own key would mkfs over
// its data. Format must look through the mapping first.
func TestFormatPlainRefusesVolumeWithData(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	dev := w.disk("vdb", diskSize)
	formatClosed(t, m, FormatOptions{Device: dev, Name: "data", Type: TypePlain})
	before := sum(t, dev)
	_, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Type: TypePlain})
	if !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), "ext4") {
		t.Fatalf("format of a plain volume holding ext4 = %v, want refused naming it", err)
	}
	if sum(t, dev) != before {
		t.Fatal("refused format changed the device")
	}
	w.requireNothingLeft(t)
	if _, ok := w.store.blobs["data"]; !ok {
		t.Fatal("the refused format removed the existing key files")
	}
	if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: "data", Type: TypePlain, Force: true}); err != nil {
		t.Fatalf("forced format: %v", err)
	}
}
