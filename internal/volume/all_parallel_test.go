package volume

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/caamtab"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// Independent entries open at the same time, never more than
// OpenAllParallel; a failing one is rolled back alone and reported in its
// table slot; the others open with their own keys (each reads back what
// was written through it).
func TestOpenAllRunsIndependentEntriesConcurrently(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	const n = 8
	var entries []caamtab.Entry
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("v%d", i)
		dev := w.disk(name, diskSize)
		if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: name, FS: FSNone}); err != nil {
			t.Fatal(err)
		}
		writeNode(t, w.mapper.NodePath(name), 0, []byte("marker of "+name))
		if err := m.Close(ctx, CloseOptions{Name: name}); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, caamtab.Entry{Name: name, Device: dev, Options: caamtab.Options{Type: caamtab.TypeCaamcrypt}})
	}
	var mu sync.Mutex
	inFlight, most := 0, 0
	w.onCall = func(call string) {
		if !strings.HasPrefix(call, "mapper.Create v") {
			return
		}
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
	}
	w.inject("mapper.Create v5", errInjected)
	out, err := m.OpenAll(ctx, entries)
	w.onCall = nil
	if err == nil || !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "1 of 8 volumes failed") {
		t.Fatalf("OpenAll = %v; want one failure (v5)", err)
	}
	if most < 2 || most > OpenAllParallel {
		t.Fatalf("at most %d opens ran at once; want 2..%d", most, OpenAllParallel)
	}
	for i, o := range out {
		if o.Name != entries[i].Name {
			t.Fatalf("outcome %d is %s, want table order (%s)", i, o.Name, entries[i].Name)
		}
		if i == 5 {
			if o.Err == nil || o.Volume != nil {
				t.Fatalf("v5: %+v, want its injected failure", o)
			}
			continue
		}
		if o.Err != nil {
			t.Fatalf("%s: %v", o.Name, o.Err)
		}
		want := "marker of " + o.Name
		if got := string(readNode(t, w.mapper.NodePath(o.Name), 0, len(want))); got != want {
			t.Fatalf("%s reads %q, want %q", o.Name, got, want)
		}
	}
	if names := w.mapper.names(); slices.Contains(names, "v5") || len(names) != n-1 {
		t.Fatalf("mapped %v; want all but v5 (rolled back)", names)
	}
	if got := w.ring.count(); got != 0 {
		t.Fatalf("%d keys left in the keyring after the opens (v5's must be rolled back, the others unlinked)", got)
	}
}

// Entries that share a device or name, or whose mount points nest, open in
// table order: a mount inside another's comes after it, and the second
// name for one device is refused as it is by sequential opens.
func TestOpenAllKeepsOrderOfDependentEntries(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	top, inner := w.disk("top", diskSize), w.disk("inner", diskSize)
	for name, dev := range map[string]string{"top": top, "inner": inner} {
		formatClosed(t, m, FormatOptions{Device: dev, Name: name})
	}
	mnt := filepath.Join(w.dir, "mnt")
	entries := []caamtab.Entry{
		{Name: "top", Device: top, Options: caamtab.Options{Type: caamtab.TypeCaamcrypt, Mount: mnt}},
		{Name: "inner", Device: inner, Options: caamtab.Options{Type: caamtab.TypeCaamcrypt, Mount: mnt + "/data/inner"}},
		{Name: "top2", Device: top, Options: caamtab.Options{Type: caamtab.TypeCaamcrypt}},
	}
	// Slow down the first entry's mapping: without ordering, the inner
	// volume would mount first.
	w.onCall = func(call string) {
		if call == "mapper.Create top" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	start := w.ncalls()
	out, err := m.OpenAll(ctx, entries)
	w.onCall = nil
	if err == nil || !errors.Is(out[2].Err, fail.ErrRefused) || out[0].Err != nil || out[1].Err != nil {
		t.Fatalf("OpenAll = %v, outcomes %+v; want top and inner open, top2 refused", err, out)
	}
	calls := w.callsSince(start)
	iTop, iInner := slices.Index(calls, "mount "+mnt), slices.Index(calls, "mount "+mnt+"/data/inner")
	if iTop < 0 || iInner < 0 || iInner < iTop {
		t.Fatalf("mount order %d (top) %d (inner) in %v; want top first", iTop, iInner, calls)
	}
}

func TestDependsOn(t *testing.T) {
	e := func(name, dev, mount string) caamtab.Entry {
		return caamtab.Entry{Name: name, Device: dev, Options: caamtab.Options{Mount: mount}}
	}
	for _, c := range []struct {
		a, b       caamtab.Entry
		devA, devB string
		want       bool
	}{
		{e("a", "/dev/vda", "/data"), e("b", "/dev/vdb", "/logs"), "/dev/vda", "/dev/vdb", false},
		{e("a", "/dev/vda", ""), e("a", "/dev/vdb", ""), "/dev/vda", "/dev/vdb", true},               // same name
		{e("a", "LABEL=x", ""), e("b", "/dev/vdb", ""), "/dev/vdb", "/dev/vdb", true},                // same device resolved
		{e("a", "/dev/vda", "/data/in"), e("b", "/dev/vdb", "/data"), "/dev/vda", "/dev/vdb", true},  // inside
		{e("a", "/dev/vda", "/data"), e("b", "/dev/vdb", "/data/in/"), "/dev/vda", "/dev/vdb", true}, // contains
		{e("a", "/dev/vda", "/data2"), e("b", "/dev/vdb", "/data"), "/dev/vda", "/dev/vdb", false},   // prefix, not inside
		{e("a", "/dev/vda", "/srv"), e("b", "/dev/vdb", "/srv"), "/dev/vda", "/dev/vdb", true},       // same mount point
		{e("a", "UUID=1", ""), e("b", "UUID=2", ""), "UUID=1", "UUID=2", false},                      // unresolved, distinct
	} {
		if got := dependsOn(c.a, c.devA, c.b, c.devB); got != c.want {
			t.Errorf("dependsOn(%+v, %s, %+v, %s) = %v, want %v", c.a, c.devA, c.b, c.devB, got, c.want)
		}
	}
}
