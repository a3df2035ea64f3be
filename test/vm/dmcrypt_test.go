package vm

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// The first scenarios: dm-crypt with a logon key and a software cipher
// through caamcrypt's dm and internal/keyring packages (test/vm/guest/dmcheck),
// in both flavours.

const dmcheckGuest = "/usr/bin/dmcheck"

func dmcheckMachine(t *testing.T, f Flavour, files map[string][]byte) *Machine {
	RequireVM(t)
	return New(t, Config{
		Flavour:  f,
		Disks:    []DiskSpec{{Name: "data", SizeMiB: 64}},
		Binaries: map[string]string{dmcheckGuest: MustBuildGo(t, "./test/vm/guest/dmcheck")},
		Files:    files,
	})
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDMCryptPersistence: map, mkfs, mount, write a marker, unmount, unmap;
// reboot with the same disk; map again and read the same bytes back. The
// raw disk never holds the marker or a plaintext ext4 superblock.
func TestDMCryptPersistence(t *testing.T) {
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		key := randomBytes(t, 32) // a 32-byte logon key for capi:cbc(aes)-plain64 (AES-256)
		marker := "caamcrypt-vm-marker-" + hex.EncodeToString(randomBytes(t, 12))
		m := dmcheckMachine(t, f, map[string][]byte{"/etc/vmtest/data.key": key})
		dev := m.GuestDevice("data")
		mapCmd := fmt.Sprintf("dmcheck map -name vmdata -device %s -key-file /etc/vmtest/data.key -desc caamvm:data", dev)
		nodeCheck := "test -b /dev/mapper/vmdata && ls -l /dev/mapper/vmdata"
		if f == Udev {
			// udev ran Debian's dm rules for the new device.
			nodeCheck += " && ls -l /dev/disk/by-id/dm-name-vmdata"
		}

		res := m.Boot(Boot{Steps: []Step{
			{Name: "map", Run: mapCmd},
			{Name: "node", Run: nodeCheck},
			{Name: "key-unlinked", Run: "keyctl search @u logon caamvm:data; test $? -ne 0"},
			{Name: "mkfs", Run: "mkfs.ext4 -q /dev/mapper/vmdata"},
			{Name: "mount", Run: "mount -t ext4 /dev/mapper/vmdata /mnt"},
			{Name: "write", Run: fmt.Sprintf("printf '%%s\\n' %s > /mnt/marker.txt && sync", marker)},
			{Name: "umount", Run: "umount /mnt"},
			{Name: "unmap", Run: "dmcheck unmap -name vmdata"},
			{Name: "gone", Run: "test ! -e /dev/mapper/vmdata"},
		}})
		res.Require(t)
		wantOutput(t, res, "map", "dmcheck: key caamvm:data added to @u", "dmcheck: node-present /dev/mapper/vmdata",
			"dmcheck: key caamvm:data unlinked from @u")

		requireNoPlaintext(t, m, "data", marker)

		res = m.Boot(Boot{Steps: []Step{
			{Name: "map", Run: mapCmd},
			{Name: "fsck", Run: "e2fsck -fn /dev/mapper/vmdata"},
			{Name: "mount", Run: "mount -t ext4 /dev/mapper/vmdata /mnt"},
			{Name: "read", Run: "cat /mnt/marker.txt"},
			{Name: "umount", Run: "umount /mnt"},
			{Name: "unmap", Run: "dmcheck unmap -name vmdata"},
		}})
		res.Require(t)
		if got := res.Step("read").Output; got != marker+"\n" {
			t.Errorf("after reboot read %q, want %q", got, marker+"\n")
		}
	})
}

// TestKeyringVisibility pins down which keyring a key must be in for the
// table load to find it (docs/caam-abi.md §6), on the guest's real kernel:
//   - added to @u by the process that loads the table: found (caamcrypt's way);
//   - added to @u by another process: found (@u is per user);
//   - added to @s by another process, in a busybox init without a session
//     keyring: ENOKEY, because keyctl got a fresh session keyring of its own
//     that died with it;
//   - added to @s inside a shared session (keyctl session -, or
//     Boot.SharedSession across steps): found.
func TestKeyringVisibility(t *testing.T) {
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		m := dmcheckMachine(t, f, map[string][]byte{"/etc/vmtest/k.key": randomBytes(t, 32)})
		dev := m.GuestDevice("data")
		load := func(name, desc string) string {
			return fmt.Sprintf("dmcheck load -name %s -device %s -desc %s -key-size 32", name, dev, desc)
		}
		res := m.Boot(Boot{Steps: []Step{
			{Name: "u-same-process", Run: fmt.Sprintf("dmcheck map -name k1 -device %s -key-file /etc/vmtest/k.key -desc caamvm:k1", dev)},
			{Name: "u-same-process-unmap", Run: "dmcheck unmap -name k1"},
			{Name: "u-add", Run: "keyctl padd logon caamvm:k2 @u < /etc/vmtest/k.key"},
			{Name: "u-other-process", Run: load("k2", "caamvm:k2")},
			{Name: "u-other-process-unmap", Run: "dmcheck unmap -name k2"},
			{Name: "s-add", Run: "keyctl padd logon caamvm:k3 @s < /etc/vmtest/k.key"},
			{Name: "s-other-process", Run: load("k3", "caamvm:k3"), MayFail: true},
			{Name: "s-other-process-nothing-left", Run: "test ! -e /dev/mapper/k3 && ! dmsetup info k3 >/dev/null 2>&1"},
			{Name: "s-shared-session", Run: "keyctl session - sh -c 'keyctl padd logon caamvm:k4 @s < /etc/vmtest/k.key && " + load("k4", "caamvm:k4") + "'"},
			{Name: "s-shared-session-unmap", Run: "dmcheck unmap -name k4"},
		}})
		res.Require(t, "u-same-process", "u-same-process-unmap", "u-add", "u-other-process", "u-other-process-unmap",
			"s-add", "s-other-process-nothing-left", "s-shared-session", "s-shared-session-unmap")
		s := res.RequireExit(t, "s-other-process", 3)
		if !strings.Contains(s.Output, "ENOKEY") {
			t.Errorf("@s key from another process: want ENOKEY, got:\n%s", s.Output)
		}
		for _, step := range []string{"u-other-process", "s-shared-session"} {
			if out := res.Step(step).Output; !strings.Contains(out, "lookup caamvm:") || !strings.Contains(out, ": found") {
				t.Errorf("%s: keyring.Lookup did not find the key before the load:\n%s", step, out)
			}
		}

		// Boot.SharedSession: steps behave like commands of one login
		// shell, so the seed's "keyctl padd ... @s" then "dmsetup create"
		// in two commands works.
		res = m.Boot(Boot{SharedSession: true, Steps: []Step{
			{Name: "s-add", Run: "keyctl padd logon caamvm:k5 @s < /etc/vmtest/k.key"},
			{Name: "s-load", Run: load("k5", "caamvm:k5")},
			{Name: "s-unmap", Run: "dmcheck unmap -name k5"},
		}})
		res.Require(t)
	})
}
