package volume

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

func TestParseMapUUID(t *testing.T) {
	w := newWorld(t)
	_ = w
	id := uuidRE.FindString("x 0b6f3a64-2d8e-4c3f-9a55-3c1d2e4f5a6b x")
	for _, c := range []struct {
		in   string
		ok   bool
		typ  string
		name string
	}{
		{"CAAMCRYPT-caamcrypt-" + id + "-data", true, TypeCAAMCrypt, "data"},
		{"CAAMCRYPT-caamcrypt-" + id + "-a-b", true, TypeCAAMCrypt, "a-b"},
		{"CAAMCRYPT-plain-data", true, TypePlain, "data"},
		{"CAAMCRYPT-CHECK-" + id + "-data", false, "", ""},
		{"CRYPT-PLAIN-data", false, "", ""},
		{"CAAMCRYPT-caamcrypt-nonsense", false, "", ""},
		{"", false, "", ""},
	} {
		got, ok := parseMapUUID(c.in)
		if ok != c.ok || got.Type != c.typ || got.Name != c.name {
			t.Errorf("parseMapUUID(%q) = %+v, %v", c.in, got, ok)
		}
	}
}

func TestMountPointsOf(t *testing.T) {
	info := `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
36 22 253:0 / /mnt/my\040data rw,relatime shared:2 - ext4 /dev/mapper/data rw
37 22 253:1 / /srv rw - ext4 /dev/mapper/other rw
38 22 253:0 / /mnt/again rw - ext4 /dev/mapper/data rw
`
	got, err := mountPointsOf(strings.NewReader(info), "253:0")
	if err != nil || !slices.Equal(got, []string{"/mnt/my data", "/mnt/again"}) {
		t.Fatalf("mountPointsOf = %q, %v", got, err)
	}
}

func TestMkfsArgsNeverAShell(t *testing.T) {
	got := mkfsArgs("/dev/mapper/data", "ext4", "my label;rm")
	want := []string{"mke2fs", "-q", "-F", "-L", "my label;rm", "-t", "ext4", "/dev/mapper/data"}
	if !slices.Equal(got, want) {
		t.Fatalf("mkfsArgs = %q, want %q", got, want)
	}
	if got := mkfsArgs("/dev/x", "ext4", ""); slices.Contains(got, "-L") {
		t.Fatalf("empty label gives %q", got)
	}
}

func TestValidName(t *testing.T) {
	for _, n := range []string{"data", "db-1", "a.b_c", "x@y"} {
		if err := ValidName(n); err != nil {
			t.Errorf("ValidName(%q) = %v", n, err)
		}
	}
	for _, n := range []string{"", "a/b", ".x", "control", "caamcrypt-check-x", "sp ace", strings.Repeat("n", 101)} {
		if err := ValidName(n); !errors.Is(err, fail.ErrUsage) {
			t.Errorf("ValidName(%q) = %v, want usage error", n, err)
		}
	}
}
