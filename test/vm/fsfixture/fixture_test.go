package fsfixture

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func small(seed int64) Spec {
	return Spec{Seed: seed, Small: 60, Medium: 10, Big: 1, BigMaxMiB: 1, Dirs: 8}
}

// The same seed gives the same manifest; another seed another one.
func TestBuildIsDeterministic(t *testing.T) {
	a, err := Build(filepath.Join(t.TempDir(), "a"), small(1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(filepath.Join(t.TempDir(), "b"), small(1))
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build(filepath.Join(t.TempDir(), "c"), small(2))
	if err != nil {
		t.Fatal(err)
	}
	if a.Text() != b.Text() {
		d, n := Diff(a.Text(), b.Text(), 5)
		t.Fatalf("same seed, %d lines differ: %v", n, d)
	}
	if _, n := Diff(a.Text(), c.Text(), 0); n == 0 {
		t.Fatal("another seed gave the same manifest")
	}
	kinds := map[string]int{}
	for _, e := range a {
		kinds[strings.SplitN(e.Line(), "|", 3)[1][:1]]++
	}
	// regular (8), directory (4), symlink (a), fifo (1)
	for _, k := range []string{"8", "4", "a", "1"} {
		if kinds[k] == 0 {
			t.Errorf("no entry of type %s in %v", k, kinds)
		}
	}
	if a.Files() < 70 || a.Bytes() < 1<<20 {
		t.Errorf("fixture too small: %d files, %d bytes", a.Files(), a.Bytes())
	}
}

// The image made with mke2fs -d holds exactly the tree: dumped back
// with debugfs, its manifest equals the source's (modes, owners, times,
// contents, link targets) and the xattrs are there. A changed byte is seen.
func TestImageHoldsTheTree(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	m, err := Build(src, small(7))
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "img")
	if err := Image(img, 16<<20, 12<<20, src); err != nil {
		t.Fatal(err)
	}
	debugfs, err := Tool("debugfs")
	if err != nil {
		t.Skip(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(debugfs, "-R", "rdump / "+out, img).CombinedOutput(); err != nil {
		t.Fatalf("debugfs rdump: %v: %s", err, b)
	}
	got, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	// debugfs rdump does not recreate FIFOs nor set directory times the
	// way mke2fs stored them, and its chown after chmod drops setuid and
	// setgid; compare regular files and links without those two bits (the
	// guest's fx_verify in test/vm compares every bit).
	filter := func(m Manifest) string {
		var b strings.Builder
		for _, e := range m {
			if ty := e.Mode & 0o170000; ty == 0o100000 || ty == 0o120000 {
				e.Mode &^= 0o6000
				b.WriteString(e.Line() + "\n")
			}
		}
		return b.String()
	}
	if d, n := Diff(filter(m), filter(got), 6); n != 0 {
		t.Fatalf("image differs from the tree in %d lines: %v", n, d)
	}
	xs, err := Xattrs(src, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) == 0 {
		t.Logf("the temp dir %s has no user xattrs: the fixture has none to check", dir)
	}
	for p, v := range xs {
		got, err := ImageXattr(img, p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(got, v) {
			t.Errorf("xattr of %s in the image: %q, want %q", p, got, v)
		}
	}
	got[3].Content = "0000"
	if _, n := Diff(filter(m), filter(got), 0); n == 0 && got[3].Mode&0o170000 == 0o100000 {
		t.Fatal("Diff missed a changed checksum")
	}
}
