package probe

import (
	"strings"
	"testing"
)

const sampleMountinfo = `22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
36 22 8:1 / /mnt/my\040data rw,noatime master:1 shared:7 - ext4 /dev/sda1 rw
37 22 253:0 /sub /srv rw - ext4 /dev/mapper/vault rw,data=ordered
40 22 8:1 / /again rw - vfat /dev/sda1 rw
`

func TestParseMountinfo(t *testing.T) {
	ms, err := ParseMountinfo(strings.NewReader(sampleMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 5 {
		t.Fatalf("%d mounts, want 5", len(ms))
	}
	m := ms[2]
	if m.ID != 36 || m.Parent != 22 || m.Major != 8 || m.Minor != 1 || m.MountPoint != "/mnt/my data" ||
		m.FSType != "ext4" || m.Source != "/dev/sda1" || m.Options != "rw,noatime" || m.SuperOptions != "rw" {
		t.Errorf("line 3 parsed as %+v", m)
	}
	if ms[3].Root != "/sub" || ms[3].Major != 253 || ms[3].Source != "/dev/mapper/vault" {
		t.Errorf("line 4 parsed as %+v", ms[3])
	}
	if ms[1].Major != 0 || ms[1].Minor != 21 || ms[1].FSType != "proc" {
		t.Errorf("line 2 parsed as %+v", ms[1])
	}
}

func TestParseMountinfoErrors(t *testing.T) {
	for _, bad := range []string{
		"36 22 8:1 / /mnt rw ext4 /dev/sda1 rw\n",   // no separator
		"x 22 8:1 / /mnt rw - ext4 /dev/sda1 rw\n",  // bad id
		"36 22 8-1 / /mnt rw - ext4 /dev/sda1 rw\n", // bad dev
		"36 22 8:1 / /mnt rw -\n",                   // nothing after separator
		"36 22 8:1 / /mnt\n",                        // truncated
	} {
		if _, err := ParseMountinfo(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		} else if !strings.Contains(err.Error(), "line 1") {
			t.Errorf("error %q does not name the line", err)
		}
	}
}

func TestUnescapeOctal(t *testing.T) {
	cases := map[string]string{
		`/a\040b`:    "/a b",
		`/t\011x`:    "/t\tx",
		`/back\134s`: `/back\s`,
		`/end\04`:    `/end\04`,
		`/plain`:     "/plain",
		`\0407`:      " 7",
	}
	for in, want := range cases {
		if got := unescapeOctal(in); got != want {
			t.Errorf("unescapeOctal(%q) = %q, want %q", in, got, want)
		}
	}
}

// The kernel does not escape '\r', so a source may end in one; it must
// survive the line split (bufio.ScanLines would drop it before "\n").
func TestParseMountinfoCarriageReturn(t *testing.T) {
	ms, err := ParseMountinfo(strings.NewReader("40 22 253:3 / /mnt rw - ext4 src\r\n41 22 8:1 / /b rw - ext4 /dev/sda1 rw\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Source != "src\r" || ms[1].SuperOptions != "rw\r" {
		t.Fatalf("got %+v", ms)
	}
}
