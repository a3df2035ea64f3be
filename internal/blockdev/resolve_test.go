package blockdev

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/google/uuid"
)

var (
	uuidData = uuid.MustParse("6f1c2a4e-8d1b-4c3e-9a57-0b2d4e6f8a10")
	uuidLogs = uuid.MustParse("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d")
)

type tree struct {
	t    *testing.T
	root string
	r    Resolver
}

func newTree(t *testing.T) *tree {
	root := t.TempDir()
	tr := &tree{t: t, root: root, r: Resolver{
		Dev: filepath.Join(root, "dev"), Sys: filepath.Join(root, "sys"),
		ProcPartitions: filepath.Join(root, "partitions"),
	}}
	for _, d := range []string{"dev/disk/by-uuid", "dev/disk/by-label", "dev/disk/by-partlabel", "sys/class/block"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// device creates a block device stand-in: a regular file under dev/ and its
// sysfs entry with a size, optionally holding a caamcrypt header.
func (tr *tree) device(name string, id uuid.UUID, label string) string {
	tr.t.Helper()
	p := filepath.Join(tr.r.Dev, name)
	f, err := os.Create(p)
	if err != nil {
		tr.t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(128 << 10); err != nil {
		tr.t.Fatal(err)
	}
	if id != (uuid.UUID{}) {
		if err := header.Write(f, testHeader(id, label)); err != nil {
			tr.t.Fatal(err)
		}
	}
	tr.sysfs(name, "256")
	return p
}

func (tr *tree) sysfs(name, size string) {
	dir := filepath.Join(tr.r.Sys, "class", "block", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "size"), []byte(size+"\n"), 0o644); err != nil {
		tr.t.Fatal(err)
	}
}

func (tr *tree) link(dir, name, target string) {
	if err := os.Symlink(target, filepath.Join(tr.r.Dev, "disk", dir, name)); err != nil {
		tr.t.Fatal(err)
	}
}

func testHeader(id uuid.UUID, label string) *header.Header {
	blob := make([]byte, 96)
	binary.LittleEndian.PutUint32(blob[0:], header.TagMagic)
	binary.LittleEndian.PutUint32(blob[12:], 16)
	binary.LittleEndian.PutUint32(blob[16:], 76)
	return &header.Header{
		UUID: id, Label: label, Backend: header.BackendCAAMBlob, Cipher: "capi:tk(cbc(aes))-plain",
		KeyEnc: "ecb", RedKeyLen: 16, KeyLen: 36, SectorSize: 4096,
		PayloadOffset: header.DefaultPayloadOffset, Created: time.Unix(1700000000, 0), Blob: blob,
	}
}

func TestResolveByScanWithoutUdev(t *testing.T) {
	tr := newTree(t)
	tr.device("vda", uuid.UUID{}, "")
	data := tr.device("vdb", uuidData, "data")
	logs := tr.device("vdc", uuidLogs, "my logs")
	tr.sysfs("loop0", "0") // empty loop device: no node, must be skipped
	cases := map[string]string{
		"UUID=" + uuidData.String():                  data,
		"UUID=" + strings.ToUpper(uuidLogs.String()): logs,
		"LABEL=data":    data,
		"LABEL=my logs": logs,
	}
	for spec, want := range cases {
		got, err := tr.r.Resolve(spec)
		if err != nil || got != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", spec, got, err, want)
		}
	}
	for _, spec := range []string{"LABEL=Data", "UUID=" + uuid.NewString(), "UUID=not-a-uuid", "PARTLABEL=x"} {
		if got, err := tr.r.Resolve(spec); !errors.Is(err, fail.ErrNotFound) {
			t.Errorf("Resolve(%q) = %q, %v; want ErrNotFound", spec, got, err)
		}
	}
}

// udev's by-label link points at the ext4 inside the open volume (same
// label, made by mkfs -L): the caamcrypt header on the raw device must win.
func TestResolveHeaderBeatsMisleadingLink(t *testing.T) {
	tr := newTree(t)
	raw := tr.device("vdb", uuidData, "data")
	dm := tr.device("dm-0", uuid.UUID{}, "")
	tr.link("by-label", "data", "../../dm-0")
	got, err := tr.r.Resolve("LABEL=data")
	if err != nil || got != raw {
		t.Fatalf("Resolve = %q, %v; want %q (not %q)", got, err, raw, dm)
	}
}

func TestResolveLinkFastPathAndFallback(t *testing.T) {
	tr := newTree(t)
	logs := tr.device("vdc", uuidLogs, "my logs")
	tr.link("by-label", `my\x20logs`, "../../vdc")
	tr.link("by-uuid", uuidLogs.String(), "../../vdc")
	for _, spec := range []string{"LABEL=my logs", "UUID=" + uuidLogs.String()} {
		if got, err := tr.r.Resolve(spec); err != nil || got != logs {
			t.Errorf("Resolve(%q) = %q, %v", spec, got, err)
		}
	}
	// No caamcrypt header anywhere matches: the udev link is used as is.
	plain := tr.device("vdd", uuid.UUID{}, "")
	tr.link("by-label", "rawfs", "../../vdd")
	tr.link("by-partlabel", "enc", "../../vdd")
	for _, spec := range []string{"LABEL=rawfs", "PARTLABEL=enc"} {
		if got, err := tr.r.Resolve(spec); err != nil || got != plain {
			t.Errorf("Resolve(%q) = %q, %v; want %q", spec, got, err, plain)
		}
	}
}

func TestResolveRefusesClones(t *testing.T) {
	tr := newTree(t)
	tr.device("vdb", uuidData, "data")
	tr.device("vdc", uuidData, "data")
	_, err := tr.r.Resolve("UUID=" + uuidData.String())
	if !errors.Is(err, fail.ErrRefused) || !strings.Contains(err.Error(), "vdb") || !strings.Contains(err.Error(), "vdc") {
		t.Fatalf("err %v", err)
	}
}

func TestResolveProcPartitionsFallback(t *testing.T) {
	tr := newTree(t)
	data := tr.device("mmcblk0p3", uuidData, "data")
	if err := os.RemoveAll(tr.r.Sys); err != nil {
		t.Fatal(err)
	}
	parts := "major minor  #blocks  name\n\n 179        0    7634944 mmcblk0\n 179        3     524288 mmcblk0p3\n"
	if err := os.WriteFile(tr.r.ProcPartitions, []byte(parts), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := tr.r.Resolve("LABEL=data")
	if err != nil || got != data {
		t.Fatalf("Resolve = %q, %v; want %q", got, err, data)
	}
	os.Remove(tr.r.ProcPartitions)
	if _, err := tr.r.Resolve("LABEL=data"); !errors.Is(err, fail.ErrNotReady) {
		t.Fatalf("without sysfs and /proc/partitions: %v", err)
	}
}

func TestResolvePaths(t *testing.T) {
	tr := newTree(t)
	p := tr.device("sda", uuid.UUID{}, "")
	if got, err := tr.r.Resolve(p); err != nil || got != p {
		t.Errorf("Resolve(%q) = %q, %v", p, got, err)
	}
	if _, err := tr.r.Resolve(p + "9"); !errors.Is(err, fail.ErrNotFound) {
		t.Errorf("missing path: %v", err)
	}
	if _, err := tr.r.Resolve("sda"); !errors.Is(err, fail.ErrUsage) {
		t.Errorf("relative path: %v", err)
	}
	if _, err := tr.r.Resolve("ID=1"); !errors.Is(err, fail.ErrUsage) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestUdevEncode(t *testing.T) {
	cases := map[string]string{
		"data":      "data",
		"my logs":   `my\x20logs`,
		"a/b":       `a\x2fb`,
		`back\s`:    `back\x5cs`,
		"x#y+z=1@2": "x#y+z=1@2",
		"données":   "données",
	}
	for in, want := range cases {
		if got := udevEncode(in); got != want {
			t.Errorf("udevEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

// ResolveHeader hands back the header it matched (scan and link paths), so
// an open by UUID=/LABEL= reads the device once; a path or a link taken as
// it is comes with none.
func TestResolveHeaderReturnsMatchedHeader(t *testing.T) {
	tr := newTree(t)
	data := tr.device("vdb", uuidData, "data")
	logs := tr.device("vdc", uuidLogs, "my logs")
	tr.link("by-uuid", uuidLogs.String(), "../../vdc")
	plain := tr.device("vdd", uuid.UUID{}, "")
	tr.link("by-label", "rawfs", "../../vdd")
	for spec, want := range map[string]struct {
		path  string
		id    uuid.UUID
		label string
	}{
		"LABEL=data":                {data, uuidData, "data"},
		"UUID=" + uuidLogs.String(): {logs, uuidLogs, "my logs"},
	} {
		got, f, err := tr.r.ResolveHeader(spec)
		if err != nil || got != want.path || f == nil {
			t.Fatalf("ResolveHeader(%q) = %q, %v, %v; want %q with a header", spec, got, f, err, want.path)
		}
		if f.Header.UUID != want.id || f.Header.Label != want.label || f.Report.Damaged() {
			t.Errorf("ResolveHeader(%q) header UUID %s label %q damaged %v", spec, f.Header.UUID, f.Header.Label, f.Report.Damaged())
		}
	}
	for spec, want := range map[string]string{data: data, "LABEL=rawfs": plain} {
		got, f, err := tr.r.ResolveHeader(spec)
		if err != nil || got != want || f != nil {
			t.Errorf("ResolveHeader(%q) = %q, %v, %v; want %q and no header", spec, got, f, err, want)
		}
	}
}
