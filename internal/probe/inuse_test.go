package probe

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// fakeSys builds a sysfs tree: sda (8:0) with partitions sda1 (8:1, mounted
// in the sample mountinfo) and sda2 (8:2, held by dm-0 "vault"), sdb (8:16)
// with nothing, and loop0 (7:0) backed by image.
func fakeSys(t *testing.T, image string) System {
	t.Helper()
	root := t.TempDir()
	mk := func(path, content string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(path, target string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	link("dev/block/8:0", "../../devices/pci0/block/sda")
	link("dev/block/8:16", "../../devices/pci0/block/sdb")
	link("dev/block/7:0", "../../devices/virtual/block/loop0")
	mk("class/block/sda/dev", "8:0\n")
	mk("class/block/sda/sda1/partition", "1\n")
	mk("class/block/sda/sda1/dev", "8:1\n")
	mk("class/block/sda/sda2/partition", "2\n")
	mk("class/block/sda/sda2/dev", "8:2\n")
	mk("class/block/sda/sda2/holders/dm-0/.keep", "")
	mk("class/block/sda2/holders/dm-0/.keep", "")
	mk("block/dm-0/dm/name", "vault\n")
	mk("class/block/sdb/dev", "8:16\n")
	mk("class/block/sdb/holders/md0/.keep", "")
	mk("block/loop0/dev", "7:0\n")
	mk("block/loop0/loop/backing_file", image+"\n")
	mk("block/loop1/dev", "7:1\n")
	mk("block/loop1/loop/backing_file", "/elsewhere.img\n")
	mk("mountinfo", sampleMountinfo+"50 22 7:0 / /mnt/img rw - ext4 /dev/loop0 rw\n")
	return System{Sysfs: root, Mountinfo: filepath.Join(root, "mountinfo")}
}

func TestDevUsersFromFakeSysfs(t *testing.T) {
	s := fakeSys(t, "/nonexistent")
	ms, err := s.mounts()
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.devUsers(8, 0, ms)
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{
		{KindMounted, "partition sda1 mounted on /mnt/my data (ext4)"},
		{KindMounted, "partition sda1 mounted on /again (vfat)"},
		{KindHolder, `partition sda2 used by device-mapper mapping "vault" (dm-0)`},
	}
	if len(got) != len(want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("finding %d = %v, want %v", i, got[i], want[i])
		}
	}
	got, err = s.devUsers(8, 16, ms)
	if err != nil || len(got) != 1 || got[0] != (Finding{KindHolder, "used by kernel device md0"}) {
		t.Errorf("sdb: %v %v", got, err)
	}
	got, err = s.devUsers(8, 1, ms) // the partition itself, named via its own link
	if err == nil {
		t.Errorf("8:1 has no /sys/dev/block link in the fake tree, want an error, got %v", got)
	}
}

func TestInUseRegularFile(t *testing.T) {
	image := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(image, make([]byte, 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	// On the real host (no root needed): a fresh file has no loop device.
	got, err := InUse(image)
	if err != nil || len(got) != 0 {
		t.Fatalf("host InUse(%s) = %v, %v", image, got, err)
	}
	// Through a symlink, with a loop device backed by it that is mounted.
	alias := filepath.Join(t.TempDir(), "alias.img")
	if err := os.Symlink(image, alias); err != nil {
		t.Fatal(err)
	}
	got, err = fakeSys(t, image).InUse(alias)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (Finding{KindLoop, "attached to /dev/loop0"}) ||
		got[1] != (Finding{KindMounted, "loop0 mounted on /mnt/img (ext4)"}) {
		t.Errorf("findings %v", got)
	}
}

func TestInUseErrors(t *testing.T) {
	_, err := InUse(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, fail.ErrNotFound) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: %v", err)
	}
	if _, err := InUse(t.TempDir()); !errors.Is(err, ErrNotBlockDevice) {
		t.Errorf("directory: %v", err)
	}
	if _, err := os.Stat("/dev/null"); err == nil {
		if _, err := InUse("/dev/null"); !errors.Is(err, ErrNotBlockDevice) {
			t.Errorf("/dev/null: %v", err)
		}
	}
}

func TestSizeBytesRegularFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "img")
	if err := os.WriteFile(p, make([]byte, 12345), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := SizeBytes(p)
	if err != nil || n != 12345 {
		t.Errorf("SizeBytes = %d, %v", n, err)
	}
	if _, err := SizeBytes(filepath.Join(p, "x")); err == nil {
		t.Error("SizeBytes of a missing path succeeded")
	}
	if _, err := SizeBytes(t.TempDir()); !errors.Is(err, ErrNotBlockDevice) {
		t.Errorf("directory: %v", err)
	}
}

func TestFindingString(t *testing.T) {
	if s := (Finding{KindMounted, "on /mnt"}).String(); !strings.HasPrefix(s, "mounted: ") {
		t.Errorf("String = %q", s)
	}
}
