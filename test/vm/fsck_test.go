package vm

import (
	"strings"
	"testing"
)

// TestOpenChecksFilesystemWhenAsked proves that `open --mount` runs e2fsck
// when the filesystem asks for it, although it skips e2fsck on a clean one
// (internal/volume/fsclean.go reads the superblock to decide): the volume is
// formatted, its ext4 is flagged as having errors (tune2fs -E force_fsck),
// and after open the flag is gone because e2fsck -p ran and fixed it.
func TestOpenChecksFilesystemWhenAsked(t *testing.T) {
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		m := New(t, Config{
			Flavour:      f,
			Disks:        []DiskSpec{{Name: "v", SizeMiB: 16}},
			Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
			ExtraModules: []Module{CaamsimModule(t, "")},
		})
		dev := m.GuestDevice("v")
		state := `dumpe2fs -h /dev/mapper/fv 2>/dev/null | grep -E '^Filesystem state:'`
		res := m.Boot(Boot{Steps: []Step{
			{Name: "format", Run: "caamcrypt format " + dev + " --name fv && caamcrypt close fv"},
			// Map without mounting (no fsck), flag the filesystem, unmap.
			{Name: "flag", Run: "caamcrypt open " + dev + " --name fv && tune2fs -E force_fsck /dev/mapper/fv && " +
				state + " && caamcrypt close fv"},
			{Name: "open", Run: "mkdir -p /mnt/fv && caamcrypt --log-level debug open " + dev + " --name fv --mount /mnt/fv 2>&1"},
			{Name: "state", Run: "umount /mnt/fv && " + state + " && caamcrypt close fv"},
		}})
		res.Require(t, "format", "flag", "open", "state")
		if out := res.Step("flag").Output; !strings.Contains(out, "with errors") {
			t.Fatalf("tune2fs did not flag the filesystem:\n%s", out)
		}
		if out := res.Step("open").Output; !strings.Contains(out, "e2fsck") {
			t.Errorf("open of a flagged filesystem did not run e2fsck:\n%s", out)
		}
		if out := res.Step("state").Output; !strings.Contains(out, "clean") || strings.Contains(out, "with errors") {
			t.Errorf("filesystem still flagged after open:\n%s", out)
		}
	})
}
