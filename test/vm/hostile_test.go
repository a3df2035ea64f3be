package vm

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestHostileEnvironments runs caamcrypt format (and open where it
// matters) where something it needs is missing or broken, made real in the
// guest: BusyBox's mke2fs applet first on PATH, e2fsprogs' mke2fs removed,
// a read-only device (blockdev --setro), a disk smaller than the header
// area, /run read-only (no writable lock directory, as on a read-only root
// without a tmpfs /run), not root (busybox su to nobody), dm-crypt
// unloaded with no module to load, the CAAM simulator loaded without the
// tk() ciphers, /dev/caam-keygen missing, the keygen ioctls failing with
// EIO, and the keyring quota exhausted. Each case must exit with its
// documented code and message, and change nothing: the device's SHA-256 is
// the same, no mapping, no caamcrypt key in /proc/keys. A read-only root
// with /run on a tmpfs is not hostile: format works there.
func TestHostileEnvironments(t *testing.T) {
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		if f == Udev && !fullInterrupts {
			// The environment checks do not depend on udev: make test runs
			// them once; make reliability (CAAMCRYPT_VM_RELIABILITY=full)
			// in both flavours.
			t.Skip("udev flavour only with CAAMCRYPT_VM_RELIABILITY=full")
		}
		start := time.Now()
		disks := []DiskSpec{{Name: "keys", SizeMiB: 16}, {Name: "a", SizeMiB: 16}, {Name: "d", SizeMiB: 16}, {Name: "tiny", SizeMiB: 1}}
		m0 := &Machine{cfg: Config{Disks: disks}}
		K, A, D, T := m0.GuestDevice("keys"), m0.GuestDevice("a"), m0.GuestDevice("d"), m0.GuestDevice("tiny")
		m := New(t, Config{
			Flavour:      f,
			Disks:        disks,
			Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
			Files:        map[string][]byte{interruptLib: interruptLibFile(t)},
			ExtraModules: []Module{CaamsimModule(t, "")},
		})
		src := ". " + interruptLib + "\n"
		caamsimKo := "$(grep caamsim /etc/vm/modules.extra | cut -d' ' -f1)"
		// hostile is one case: setup, the command with its wanted exit code
		// and message, undo; the device and keyrings must not change.
		type hcase struct {
			name, setup, cmd string
			rc               int
			msg, undo        string
			dev              string
		}
		cases := []hcase{
			{"busybox-mke2fs", "mkdir -p /tmp/bb && ln -sf /usr/bin/busybox /tmp/bb/mke2fs",
				"PATH=/tmp/bb:$PATH $CC format " + D + " --label vh", 3, "e2fsprogs-mke2fs", "", D},
			{"busybox-mke2fs-doctor", "mkdir -p /tmp/bb && ln -sf /usr/bin/busybox /tmp/bb/mke2fs",
				"PATH=/tmp/bb:$PATH $CC doctor", 0, "BusyBox", "", D},
			{"no-e2fsprogs", "mv /usr/sbin/mke2fs /usr/sbin/mke2fs.off; which mke2fs && bad 'mke2fs still on PATH'",
				"$CC format " + D + " --label vh", 3, "e2fsprogs", "mv /usr/sbin/mke2fs.off /usr/sbin/mke2fs", D},
			{"read-only-device", "blockdev --setro " + D, "$CC format " + D + " --label vh --fs none", 3, "read-only",
				"blockdev --setrw " + D, D},
			{"device-too-small", "", "$CC format " + T + " --label vh --fs none", 2, "too small", "", T},
			{"no-writable-run", "mount -t tmpfs -o ro,size=64k tmpfs /run", "$CC format " + D + " --label vh --fs none", 3,
				"/run", "umount /run", D},
			{"not-root", "grep -q '^nobody:' /etc/passwd 2>/dev/null || echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> /etc/passwd; chmod 666 " + D,
				"su -s /bin/sh nobody -c '/usr/bin/caamcrypt format " + D + " --label vh --fs none'", 3, "root", "chmod 660 " + D, D},
			{"dm-crypt-missing", "rmmod dm_crypt; ls /lib/modules 2>&1; [ -d /lib/modules ] && mv /lib/modules /lib/modules.off; true",
				"$CC format " + D + " --label vh --fs none", 3, "dm-crypt", "[ -d /lib/modules.off ] && mv /lib/modules.off /lib/modules; insmod $(grep dm-crypt /etc/vm/modules.base | cut -d' ' -f1)", D},
			{"tk-ciphers-missing", "rmmod caamsim && insmod " + caamsimKo + " no_tk=1",
				"$CC format " + D + " --label vh --fs none", 3, "tk(cbc(aes))", "rmmod caamsim && insmod " + caamsimKo, D},
			{"caam-keygen-missing", "rmmod caamsim", "$CC format " + D + " --label vh --fs none", 3, "caam-keygen",
				"insmod " + caamsimKo, D},
			{"caam-keygen-eio-format", "echo 5 > /sys/module/caamsim/parameters/fail_ioctl",
				"$CC format " + D + " --label vh --fs none", 1, "input/output error", "echo 0 > /sys/module/caamsim/parameters/fail_ioctl", D},
			{"caam-keygen-eio-open", "echo 5 > /sys/module/caamsim/parameters/fail_ioctl",
				"$CC open " + A, 1, "input/output error", "echo 0 > /sys/module/caamsim/parameters/fail_ioctl", A},
			{"keyring-quota-format", "cp /proc/sys/kernel/keys/root_maxkeys /tmp/maxkeys; " +
				"n=$(awk '$1==\"0:\" {split($4,a,\"/\"); print a[1]}' /proc/key-users); echo \"keys of root: $n\"; echo $n > /proc/sys/kernel/keys/root_maxkeys",
				"$CC format " + D + " --label vh --fs none", 1, "quota", "cat /tmp/maxkeys > /proc/sys/kernel/keys/root_maxkeys", D},
			{"keyring-quota-open", "cp /proc/sys/kernel/keys/root_maxkeys /tmp/maxkeys; " +
				"n=$(awk '$1==\"0:\" {split($4,a,\"/\"); print a[1]}' /proc/key-users); echo $n > /proc/sys/kernel/keys/root_maxkeys",
				"$CC open " + A, 1, "quota", "cat /tmp/maxkeys > /proc/sys/kernel/keys/root_maxkeys", A},
		}
		steps := []volStep{
			{"mkfs-keys", "mkfs.ext4 -q -L keys " + K + " && mkdir -p /data && mount " + K + " /data && mkdir -p /data/caam", 0},
			{"format-a", "caamcrypt format " + A + " --label va --fs none && caamcrypt close va", 0},
		}
		for _, c := range cases {
			var b strings.Builder
			b.WriteString(src)
			fmt.Fprintf(&b, "s0=$(sha256sum %s)\n%s\n", c.dev, c.setup)
			fmt.Fprintf(&b, "%s >/tmp/h.out 2>&1; rc=$?; echo \"rc=$rc\"; sed 's/^/  | /' /tmp/h.out\n", c.cmd)
			if c.undo != "" {
				fmt.Fprintf(&b, "%s\n", c.undo)
			}
			fmt.Fprintf(&b, "[ $rc = %d ] || bad \"exit $rc, want %d\"\n", c.rc, c.rc)
			fmt.Fprintf(&b, "grep -qF %s /tmp/h.out || bad %s\n", volQ(c.msg), volQ("message does not name "+c.msg))
			fmt.Fprintf(&b, "[ \"$(sha256sum %s)\" = \"$s0\" ] || bad 'the device changed'\n", c.dev)
			b.WriteString("nothing_left /mnt/none\nverdict\n")
			steps = append(steps, volStep{c.name, b.String(), 0})
		}
		// Read-only root with /run on its tmpfs: format and open work
		// (caamcrypt writes only /run, the key directory and the device).
		steps = append(steps, volStep{"read-only-root", src +
			"if mount -o remount,ro / 2>/tmp/ro.err; then\n" +
			"  $CC format " + D + " --label vr --fs none && $CC close vr && $CC open " + D + " && $CC close vr || bad 'format/open on a read-only root failed'\n" +
			"  mount -o remount,rw /\nelse echo \"SKIP: rootfs cannot be remounted read-only: $(cat /tmp/ro.err)\"; fi\n" +
			"nothing_left /mnt/none\nverdict\n", 0})
		steps = append(steps, volStep{"umount-keys", "sync && umount /data", 0})
		res := volRunLong(t, m, steps, 20*time.Minute)
		bad := 0
		for _, c := range append(cases, hcase{name: "read-only-root"}) {
			r := res.Step(c.name)
			b := 0
			if r == nil || !r.Done || r.ExitCode != 0 {
				b = 1
			}
			bad += b
			reliabilityLine("hostile-env", string(f)+"/"+c.name, 1, b)
		}
		t.Logf("%s hostile-env: %d cases, %d bad; TIMING total %s", f, len(cases)+1, bad, time.Since(start).Round(100*time.Millisecond))
	})
}
