package vm

import (
	"fmt"
	"strings"
	"testing"
)

// TestOpenAllConcurrent: open --all opens independent volumes concurrently
// (internal/volume OpenAll). Six caamcrypt volumes, one of them mounted
// inside another's file system (so it must wait for it), and a nofail
// entry on a blank disk (its open fails and is rolled back alone). Three
// rounds of open --all / close --all in one boot (noudev); each round
// checks that every volume mounted where its entry says, reads its own
// marker (so no volume got another's key or device), maps the right
// device, left no key in the keyring, and that the failing entry left
// nothing. About 60-90 s on the 2-core build machine, most of it the six
// formats.
func TestOpenAllConcurrent(t *testing.T) {
	const n = 6
	disks := []DiskSpec{}
	for i := 1; i <= n; i++ {
		disks = append(disks, DiskSpec{Name: fmt.Sprintf("v%d", i), SizeMiB: 16})
	}
	disks = append(disks, DiskSpec{Name: "blank", SizeMiB: 16})
	m0 := &Machine{cfg: Config{Disks: disks}}
	mount := func(i int) string {
		if i == n {
			return fmt.Sprintf("/mnt/v%d/inner", n-1) // inside v5's file system
		}
		return fmt.Sprintf("/mnt/v%d", i)
	}
	var tab, format, check strings.Builder
	for i := 1; i <= n; i++ {
		name, dev := fmt.Sprintf("v%d", i), m0.GuestDevice(fmt.Sprintf("v%d", i))
		fmt.Fprintf(&tab, "%s %s - mount=%s\n", name, dev, mount(i))
		fmt.Fprintf(&format, "caamcrypt format %s --name %s --key-size 16 --mount /mnt/fmt\necho marker-%s > /mnt/fmt/marker\ncaamcrypt close %s\n",
			dev, name, name, name)
		fmt.Fprintf(&check, "[ \"$(cat %s/marker)\" = marker-%s ] || { echo \"%s reads $(cat %s/marker)\"; exit 1; }\n", mount(i), name, name, mount(i))
		fmt.Fprintf(&check, "dmsetup table %s | grep -q \" $(cat /sys/block/%s/dev) \" || { echo \"%s maps the wrong device\"; dmsetup table; exit 1; }\n",
			name, strings.TrimPrefix(dev, "/dev/"), name)
	}
	fmt.Fprintf(&tab, "vbad %s - nofail\n", m0.GuestDevice("blank"))
	check.WriteString("[ \"$(dmsetup ls | wc -l)\" = " + fmt.Sprint(n) + " ] || { dmsetup ls; exit 1; }\n" + volNoCaamKeys + "\n")

	m := New(t, Config{
		Flavour:      NoUdev,
		Disks:        disks,
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
		Files:        map[string][]byte{"/etc/caamtab": []byte(tab.String())},
		ExtraModules: []Module{CaamsimModule(t, "")},
	})
	steps := []volStep{{"format", "set -e\nmkdir -p -m 0700 /data/caam\n" + format.String(), 0}}
	for r := 1; r <= 3; r++ {
		steps = append(steps,
			volStep{fmt.Sprintf("open-all-%d", r), "caamcrypt open --all", 0},
			volStep{fmt.Sprintf("check-%d", r), check.String(), 0},
			volStep{fmt.Sprintf("close-all-%d", r), "caamcrypt close --all && " + volNothingMapped + " && " + volNoCaamKeys, 0},
		)
	}
	res := volRun(t, m, "", steps)
	out := res.Step("open-all-1").Output
	if !strings.Contains(out, "vbad") || !strings.Contains(out, "FAILED (nofail)") {
		t.Fatalf("open --all did not report the blank disk's entry as a nofail failure:\n%s", out)
	}
	for i := 1; i <= n; i++ {
		if !strings.Contains(out, fmt.Sprintf("v%d ", i)) || !strings.Contains(out, "mounted on "+mount(i)) {
			t.Fatalf("open --all output lacks v%d mounted on %s:\n%s", i, mount(i), out)
		}
	}
}
