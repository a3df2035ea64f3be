package vm

import (
	"bytes"
	"path"
	"strconv"
	"strings"
	"testing"
)

// Tests of the harness that need no VM.

// readNewc parses a newc archive (just enough to check the writer).
func readNewc(t *testing.T, b []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for off := 0; ; {
		if off+110 > len(b) || string(b[off:off+6]) != "070701" {
			t.Fatalf("bad header at %d", off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, nameLen := field(1), field(6), field(11)
		if field(4) != 1 {
			t.Errorf("nlink %d, want 1 (the kernel treats nlink>1 as hard links)", field(4))
		}
		name := string(b[off+110 : off+110+nameLen-1])
		off += 110 + nameLen
		off += pad4(off)
		data := string(b[off : off+size])
		off += size
		off += pad4(off)
		if name == cpioTrailer {
			if off != len(b) {
				t.Errorf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		// Parents must precede children: the kernel does not create them.
		if dir := path.Dir(name); dir != "." {
			if _, ok := out[dir]; !ok {
				t.Errorf("%s comes before its directory %s", name, dir)
			}
		}
		kind := map[int]string{0o040000: "dir", 0o100000: "file", 0o120000: "link"}[mode&0o170000]
		out[name] = kind + ":" + data
	}
}

func TestLayerWritesNewc(t *testing.T) {
	l := newLayer()
	l.addData("/usr/bin/tool", []byte("abc"), 0o755)
	l.addData("/etc/conf", []byte("x=1\n"), 0o644)
	l.addSymlink("bin", "usr/bin")
	l.addData("/lib/x86_64-linux-gnu/libz.so", []byte("lib"), 0o755) // folded into usr/lib
	var buf bytes.Buffer
	if err := l.writeTo(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d not 4-aligned", buf.Len())
	}
	got := readNewc(t, buf.Bytes())
	want := map[string]string{
		"usr": "dir:", "usr/bin": "dir:", "usr/bin/tool": "file:abc", "etc": "dir:", "etc/conf": "file:x=1\n",
		"bin": "link:usr/bin", "usr/lib": "dir:", "usr/lib/x86_64-linux-gnu": "dir:",
		"usr/lib/x86_64-linux-gnu/libz.so": "file:lib",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("entry %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d entries, want %d: %v", len(got), len(want), got)
	}
}

func TestParseResults(t *testing.T) {
	text := markBegin + "0 _setup\nok\n\n" + markEnd + "0 _setup rc=0 ms=900\n" +
		markBegin + "1 first\nline1\nline2\n\n" + markEnd + "1 first rc=0 ms=20\n" +
		markBegin + "2 second\nno newline\n" + markEnd + "2 second rc=3 ms=5\n" +
		markBegin + "3 third\npartial"
	steps := []Step{{Name: "first"}, {Name: "second"}, {Name: "third"}, {Name: "fourth"}}
	res := &Result{Flavour: NoUdev, Boot: 1, TimedOut: true}
	parseResults(res, text, steps)
	if s := res.Step("first"); !s.Done || s.ExitCode != 0 || s.Output != "line1\nline2\n" {
		t.Errorf("first = %+v", s)
	}
	if s := res.Step("second"); !s.Done || s.ExitCode != 3 || s.Output != "no newline" {
		t.Errorf("second = %+v", s)
	}
	if s := res.Step("third"); !s.Started || s.Done || s.Output != "partial" {
		t.Errorf("third = %+v", s)
	}
	if s := res.Step("fourth"); s.Started {
		t.Errorf("fourth = %+v", s)
	}
	if res.SetupDone.Milliseconds() != 900 || res.Finished {
		t.Errorf("setup %v finished %v", res.SetupDone, res.Finished)
	}
	err := res.Check("second")
	if err == nil || !strings.Contains(err.Error(), `step "second" failed: exit code 3`) {
		t.Errorf("Check(second) = %v", err)
	}
	if err := res.Check("third"); err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("Check(third) = %v", err)
	}
	if err := res.Check("first"); err != nil {
		t.Errorf("Check(first) = %v", err)
	}
}

func TestVersionLess(t *testing.T) {
	if !versionLess("6.1.0-9-amd64", "6.1.0-10-amd64") || versionLess("6.1.0-10-amd64", "6.1.0-9-amd64") {
		t.Error("kernel versions must compare numerically")
	}
	if !versionLess("5.10.0-30-amd64", "6.1.0-1-amd64") {
		t.Error("5.10 < 6.1")
	}
}

func TestCleanGuestPath(t *testing.T) {
	for in, want := range map[string]string{
		"/bin/sh": "usr/bin/sh", "/lib64/ld-linux-x86-64.so.2": "usr/lib64/ld-linux-x86-64.so.2",
		"/usr/sbin/dmsetup": "usr/sbin/dmsetup", "/etc/../etc/x": "etc/x", "/libexec/x": "libexec/x",
	} {
		if got := cleanGuestPath(in); got != want {
			t.Errorf("cleanGuestPath(%q) = %q, want %q", in, got, want)
		}
	}
}
