package vm

import (
	"fmt"
	"strings"
	"testing"
)

// TestDmsetupNodeFacts pins docs/caam-abi.md §7 on the guest kernel and Debian's
// dmsetup: with udev, `dmsetup create` returns with /dev/mapper/<name> in
// place; without udev it makes the mapping but no node (dmsetup mknodes
// makes it). This is the trap dm.Create closes (TestDMCryptPersistence
// checks the node exists the moment dm.Create returns, in both flavours).
// If this test starts failing, the fact changed and the docs need updating.
func TestDmsetupNodeFacts(t *testing.T) {
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		m := New(t, Config{Flavour: f, Disks: []DiskSpec{{Name: "data", SizeMiB: 16}}})
		dev := m.GuestDevice("data")
		res := m.Boot(Boot{Steps: []Step{
			{Name: "key", Run: "head -c 32 /dev/urandom | keyctl padd logon caamvm:ds @u"},
			{Name: "create", Run: fmt.Sprintf(`dmsetup create dsnode --table "0 $(blockdev --getsz %s) crypt capi:cbc(aes)-plain64 :32:logon:caamvm:ds 0 %s 0 1 sector_size:512"`, dev, dev)},
			{Name: "mapped", Run: "dmsetup info -c --noheadings -o name dsnode"},
			{Name: "node", Run: "if [ -b /dev/mapper/dsnode ]; then echo present; else echo absent; fi"},
			{Name: "mknodes", Run: "dmsetup mknodes dsnode && test -b /dev/mapper/dsnode"},
			{Name: "remove", Run: "dmsetup remove dsnode"},
		}})
		res.Require(t)
		if got := strings.TrimSpace(res.Step("mapped").Output); got != "dsnode" {
			t.Errorf("mapping not listed after dmsetup create: %q", got)
		}
		want := map[Flavour]string{Udev: "present", NoUdev: "absent"}[f]
		if got := strings.TrimSpace(res.Step("node").Output); got != want {
			t.Errorf("/dev/mapper/dsnode right after dmsetup create: %s, want %s (docs/caam-abi.md §7)", got, want)
		}
	})
}
