package volume

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/caamtab"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

func TestOpenAllNoFailAndNoAuto(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ctx := context.Background()
	a, b, c := w.disk("vdb", diskSize), w.disk("vdc", diskSize), w.disk("vdd", diskSize)
	for name, dev := range map[string]string{"a": a, "b": b, "c": c} {
		if _, err := m.Format(ctx, FormatOptions{Device: dev, Name: name}); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(ctx, CloseOptions{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	entries := []caamtab.Entry{
		{Name: "a", Device: a, Options: caamtab.Options{Type: caamtab.TypeCaamcrypt}},
		{Name: "gone", Device: filepath.Join(w.dir, "missing-disk"), Options: caamtab.Options{Type: caamtab.TypeCaamcrypt, NoFail: true}},
		{Name: "b", Device: b, Options: caamtab.Options{Type: caamtab.TypeCaamcrypt}},
		{Name: "c", Device: c, Options: caamtab.Options{Type: caamtab.TypeCaamcrypt, NoAuto: true}},
	}
	out, err := m.OpenAll(ctx, entries)
	if err != nil {
		t.Fatalf("OpenAll with a failing nofail entry: %v", err)
	}
	if len(out) != 4 || out[1].Err == nil || !out[3].Skipped || out[0].Err != nil || out[2].Err != nil {
		t.Fatalf("outcomes %+v", out)
	}
	if got := w.mapper.names(); len(got) != 2 {
		t.Fatalf("mapped %v, want a and b", got)
	}

	// Without nofail the same missing device fails the run, after the
	// others were still opened.
	entries[1].Options.NoFail = false
	if _, err := m.CloseAll(ctx, entries); err != nil {
		t.Fatalf("CloseAll: %v", err)
	}
	if got := w.mapper.names(); len(got) != 0 {
		t.Fatalf("still mapped after CloseAll: %v", got)
	}
	_, err = m.OpenAll(ctx, entries)
	if err == nil || !errors.Is(err, fail.ErrNotFound) {
		t.Fatalf("OpenAll with a failing entry = %v, want a not-found failure", err)
	}
	if got := w.mapper.names(); len(got) != 2 {
		t.Fatalf("a failing entry stopped the others: mapped %v", got)
	}
}
