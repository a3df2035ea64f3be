package vm

import (
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/header"
)

// TestVolumeLifecycle proves caamcrypt's volume commands on a real kernel
// with the CAAM simulator, in three power-ons per flavour:
//
//  1. format (caamcrypt 4096, plain, caamcrypt 512, --wipe) → write →
//     close; format refusals (mounted: exit 4 even with --force; ext4:
//     exit 4, then --force proceeds); two concurrent opens (kill -9
//     and signals at named points: TestVolumeInterrupts); the seed's manual commands make a plain volume
//     and caamcrypt makes one for them; header backup; doctor.
//  2. (host: volume d's header gets volume e's blob, volume e's blob one
//     flipped bit, both with valid checksums) both refused with exit 5,
//     nothing mapped, device unchanged; header restore repairs d; format
//     --key with a stale black key file beside the blob; open NAME from
//     the caamtab and close DEVICE; close of a busy volume (exit 4, still
//     open); header copy A damaged → opens from copy B, read-only;
//     open --all / close --all with a nofail entry on a missing device;
//     the SysV script's start/stop; every volume reads its marker after
//     the power cycle; interop both ways; status (--json).
//  3. another OTPMK (another device): caamcrypt and plain volumes refused
//     with exit 5, nothing mapped, disks untouched; both header copies
//     altered in the guest: exit 5; doctor without the simulator exits 3.
//
// Set CAAMCRYPT_VM_STEPLOG=1 to log every step's output.
func TestVolumeLifecycle(t *testing.T) {
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		total := time.Now()
		marker := func(n string) string { return "caamcrypt-vol-" + n + "-" + hex.EncodeToString(randomBytes(t, 10)) }
		mA, mB, mC, mE, mP, mQ := marker("a"), marker("b"), marker("c"), marker("e"), marker("p"), marker("q")

		disks := []DiskSpec{
			{Name: "keys", SizeMiB: 16}, // persistent /data holding /data/caam
			{Name: "a", SizeMiB: 24},    // caamcrypt volume, sector size 4096
			{Name: "b", SizeMiB: 16},    // plain volume made by caamcrypt
			{Name: "c", SizeMiB: 16},    // caamcrypt volume, sector size 512
			{Name: "d", SizeMiB: 16},    // format refusals, then a volume whose blob is swapped
			{Name: "e", SizeMiB: 16},    // a volume whose blob is tampered
			{Name: "p", SizeMiB: 16},    // plain volume made by the seed's commands
			{Name: "q", SizeMiB: 16},    // plain volume made by caamcrypt, read by the seed's commands
		}
		m0 := &Machine{cfg: Config{Disks: disks}}
		dev := func(n string) string { return m0.GuestDevice(n) }
		A, B, C, D, E, P, Q, K := dev("a"), dev("b"), dev("c"), dev("d"), dev("e"), dev("p"), dev("q"), dev("keys")
		caamtab := fmt.Sprintf("# three volumes, one missing but nofail\n"+
			"va  LABEL=va  -   mount=/mnt/a\n"+
			"vb  %s        pk  type=plain,sector-size=512,mount=/mnt/b\n"+
			"vx  /dev/vdz  -   nofail\n", B)
		m := New(t, Config{
			Flavour:  f,
			Disks:    disks,
			Binaries: map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
			Files: map[string][]byte{
				"/etc/caamtab":          []byte(caamtab),
				"/etc/init.d/caamcrypt": volSysvScript(t),
			},
			ExtraModules: []Module{CaamsimModule(t, "")},
		})

		mknodes := ""
		if f == NoUdev {
			mknodes = " && dmsetup mknodes"
		}
		seedTable := func(dev, keyLen, desc string) string {
			return fmt.Sprintf(`"0 $(blockdev --getsz %s) crypt capi:tk(cbc(aes))-plain :%s:logon:%s 0 %s 0 1 sector_size:512"`, dev, keyLen, desc, dev)
		}
		mountKeys := volStep{"mount-keys", "mkdir -p /data && mount -t ext4 " + K + " /data && mkdir -p /data/caam", 0}
		umountKeys := volStep{"umount-keys", "sync && umount /data", 0}

		// Power-on 1. (kill -9, SIGINT and SIGTERM at every named point of
		// format and open: TestVolumeInterrupts.)
		res := volRun(t, m, "", []volStep{
			{"mkfs-keys", "mkfs.ext4 -q -L keys " + K, 0},
			mountKeys,
			{"format-a", "caamcrypt format " + A + " --label va --mount /mnt/a && echo " + volQ(mA) + " > /mnt/a/marker && caamcrypt close va", 0},
			{"format-b", "caamcrypt format " + B + " --type plain --key pk --name vb --mount /mnt/b && echo " + volQ(mB) + " > /mnt/b/marker && caamcrypt close vb", 0},
			{"format-c", "caamcrypt format " + C + " --sector-size 512 --label vc --mount /mnt/c && echo " + volQ(mC) + " > /mnt/c/marker && caamcrypt close vc", 0},
			{"all-closed-1", volNothingMapped + "\n" + volNoCaamKeys, 0},
			{"ext4-on-d", "mkfs.ext4 -q " + D + " && mkdir -p /mnt/d && mount " + D + " /mnt/d", 0},
			{"format-mounted", "caamcrypt format " + D + " --label vd --fs none", 4},
			{"format-mounted-force", "caamcrypt format " + D + " --label vd --fs none --force", 4},
			{"umount-d", "umount /mnt/d", 0},
			{"format-ext4", "caamcrypt format " + D + " --label vd --fs none", 4},
			{"ext4-intact", "dumpe2fs -h " + D + " >/dev/null && " + volNothingMapped, 0},
			{"format-ext4-force", "caamcrypt format " + D + " --label vd --fs none --force && caamcrypt close vd", 0},
			{"format-e-wipe", "caamcrypt format " + E + " --label ve --fs none --wipe && caamcrypt close ve", 0},
			{"backup-d", "caamcrypt header backup " + D + " /data/d.hdr && caamcrypt header dump " + D, 0},
			{"concurrent-open", "caamcrypt open " + A + " & p1=$!; caamcrypt open " + A + " & p2=$!\n" +
				"wait $p1; r1=$?; wait $p2; r2=$?; echo \"rc $r1 $r2\"; dmsetup ls\n" +
				"[ $r1 = 0 ] && [ $r2 = 0 ] && [ \"$(dmsetup ls | grep -c '^va\\s')\" = 1 ] && [ \"$(dmsetup ls | wc -l)\" = 1 ]", 0},
			{"concurrent-close", "caamcrypt close va && " + volNothingMapped + " && " + volNoCaamKeys, 0},
			{"reopen-a", "caamcrypt open " + A + " --mount /mnt/a && cat /mnt/a/marker && " + volNoCaamKeys + " && " +
				"caamcrypt close va && " + volNothingMapped + " && " + volNoCaamKeys, 0},
			{"seed-make-p", "caamcrypt key create -s 16 mk && ls -l /data/caam/mk /data/caam/mk.bb && " +
				"keyctl padd logon logkey: @u < /data/caam/mk && " +
				"dmsetup create manual --table " + seedTable(P, "36", "logkey:") + mknodes + " && " +
				"mkfs.ext4 -q /dev/mapper/manual && mkdir -p /mnt/p && mount /dev/mapper/manual /mnt/p && " +
				"echo " + volQ(mP) + " > /mnt/p/marker && umount /mnt/p && dmsetup remove manual && keyctl clear @u", 0},
			{"caamcrypt-make-q", "caamcrypt format " + Q + " --type plain --key qk --name vq --mount /mnt/q && echo " + volQ(mQ) + " > /mnt/q/marker && caamcrypt close vq", 0},
			{"doctor", "caamcrypt doctor", 0},
			{"doctor-json", "caamcrypt doctor --json", 0},
			{"all-closed-2", volNothingMapped + "\n" + volNoCaamKeys, 0},
			umountKeys,
		})
		wantOutput(t, res, "format-mounted", "mounted")
		wantOutput(t, res, "format-ext4", "ext4")
		wantOutput(t, res, "reopen-a", mA)
		for disk, mk := range map[string]string{"a": mA, "b": mB, "c": mC, "p": mP, "q": mQ, "e": mE} {
			requireNoPlaintext(t, m, disk, mk)
		}
		if t.Failed() {
			t.FailNow()
		}

		// Host, between power-ons: volume d gets volume e's blob (a valid
		// blob of this device, the wrong key: the key-check must catch it),
		// volume e gets one flipped bit in its blob; both headers keep valid
		// checksums, so only the CAAM and the key check can tell.
		eBlob := append([]byte(nil), volReadHeader(t, m, "e").Blob...)
		volEditHeader(t, m, "d", func(h *header.Header) { h.Blob = eBlob })
		volEditHeader(t, m, "e", func(h *header.Header) { h.Blob[40] ^= 0x10 })

		// Power-on 2: same device.
		initd := "CAAMCRYPT=/usr/bin/caamcrypt CAAMCRYPT_CONFIG=/etc/caamtab sh /etc/init.d/caamcrypt "
		res = volRun(t, m, "", []volStep{
			mountKeys,
			{"wrong-key-d", volUnchanged(D, "caamcrypt open "+D), 5},
			{"wrong-key-d-nothing", volNothingMapped + " && test ! -e /dev/mapper/vd && " + volNoCaamKeys, 0},
			{"restore-d", "caamcrypt header restore --force " + D + " /data/d.hdr && caamcrypt open " + D + " && caamcrypt close vd", 0},
			{"tampered-e", volUnchanged(E, "caamcrypt open "+E), 5},
			{"tampered-e-nothing", volNothingMapped + " && test ! -e /dev/mapper/ve && " + volNoCaamKeys, 0},
			// The black key file pk is from power-on 1 (stale): format --key
			// must import pk.bb, or the data would not read back at open.
			{"reuse-key-e", "caamcrypt format " + E + " --force --key pk --label ve2 --mount /mnt/e && echo " + volQ(mE) + " > /mnt/e/marker && " +
				"caamcrypt close ve2 && caamcrypt open " + E + " --mount /mnt/e && cat /mnt/e/marker && caamcrypt close ve2", 0},
			{"open-by-name", "caamcrypt open va && cat /mnt/a/marker && caamcrypt close " + A + " && " + volNothingMapped, 0},
			{"close-busy", "caamcrypt open " + A + " --mount /mnt/a || exit 1\n" +
				"(cd /mnt/a && exec sleep 60) & h=$!\nsleep 0.3\n" +
				"caamcrypt close va; rc=$?; echo \"busy close rc=$rc\"\n" +
				"test -b /dev/mapper/va && grep -q ' /mnt/a ' /proc/mounts && cat /mnt/a/marker || exit 98\n" +
				"kill $h; wait $h; caamcrypt close va || exit 97\n" + volNothingMapped + " && exit $rc", 4},
			{"damage-copy-a-c", volFlipByte(C, 256+40), 0},
			{"open-c-readonly", "caamcrypt open " + C + " --readonly --mount /mnt/c && cat /mnt/c/marker && " +
				"if touch /mnt/c/new 2>/dev/null; then echo writable; exit 1; fi; caamcrypt close vc", 0},
			{"open-all", "caamcrypt open --all", 0},
			{"open-all-read", "cat /mnt/a/marker /mnt/b/marker && dmsetup ls && test -b /dev/mapper/va && test -b /dev/mapper/vb && " +
				"[ \"$(dmsetup ls | wc -l)\" = 2 ]", 0},
			// Without a table entry, an open volume is found by its mapping
			// name alone (openByName); by its device, through the kernel's
			// major:minor in the table (sameDevice); an unknown name is not found.
			{"open-by-mapping-name", "caamcrypt --config /nonexistent open va", 0},
			{"reopen-by-device", "caamcrypt open " + A, 0},
			{"open-unknown-name", "caamcrypt --config /nonexistent open vz", 6},
			{"status-json", "caamcrypt status --json", 0},
			{"status", "caamcrypt status", 0},
			{"close-all", "caamcrypt close --all && " + volNothingMapped + " && " + volNoCaamKeys + " && ! grep -q /mnt/ /proc/mounts", 0},
			{"sysv-start", initd + "start", 0},
			{"sysv-read", "cat /mnt/a/marker /mnt/b/marker", 0},
			{"sysv-stop", initd + "stop && " + volNothingMapped + " && ! grep -q /mnt/ /proc/mounts", 0},
			{"open-c", "caamcrypt open " + C + " --mount /mnt/c && cat /mnt/c/marker && caamcrypt close vc", 0},
			{"caamcrypt-reads-p", "caamcrypt open " + P + " --type plain --key mk --name vp --mount /mnt/p && cat /mnt/p/marker && caamcrypt close vp", 0},
			{"seed-reads-q", "caamcrypt key import /data/caam/qk.bb qimp && keyctl padd logon logkey2: @u < /data/caam/qimp && " +
				"dmsetup create manual --table " + seedTable(Q, "$(stat -c %s /data/caam/qimp)", "logkey2:") + mknodes + " && " +
				"mkdir -p /mnt/q && mount /dev/mapper/manual /mnt/q && cat /mnt/q/marker && umount /mnt/q && dmsetup remove manual && keyctl clear @u", 0},
			{"all-closed", volNothingMapped + "\n" + volNoCaamKeys, 0},
			umountKeys,
		})
		wantOutput(t, res, "wrong-key-d", "key")
		wantOutput(t, res, "open-all-read", mA, mB)
		wantOutput(t, res, "open-all", "va", "vb", "vx")
		wantOutput(t, res, "sysv-read", mA, mB)
		wantOutput(t, res, "open-c", mC)
		wantOutput(t, res, "caamcrypt-reads-p", mP)
		wantOutput(t, res, "seed-reads-q", mQ)
		wantOutput(t, res, "open-by-mapping-name", "already open: va")
		wantOutput(t, res, "reopen-by-device", "already open: va")
		wantOutput(t, res, "open-unknown-name", "vz is not open")
		wantOutput(t, res, "status-json", `"va"`, `"vb"`)
		wantOutput(t, res, "status", "/dev/mapper/va is active and is in use.", "/dev/mapper/vb is active", "cipher:", "mounted on:  /mnt/a")
		wantOutput(t, res, "reuse-key-e", mE)
		wantOutput(t, res, "open-by-name", mA)
		wantOutput(t, res, "close-busy", "in use", mA)
		wantOutput(t, res, "open-c-readonly", mC, "damaged")
		if t.Failed() {
			t.FailNow()
		}

		// Power-on 3: another device (another OTPMK).
		sumA, sumB := volDiskSum(t, m, "a"), volDiskSum(t, m, "b")
		res = volRun(t, m, "caamsim.otpmk="+otherOTPMK, []volStep{
			mountKeys,
			{"foreign-a", "caamcrypt open " + A, 5},
			{"foreign-b", "caamcrypt open " + B + " --type plain --key pk --name vb", 5},
			{"foreign-nothing", volNothingMapped + " && test ! -e /dev/mapper/va && test ! -e /dev/mapper/vb && " + volNoCaamKeys, 0},
			// A header altered in the guest (both copies, so the checksum
			// fails in each): refused as a wrong key, nothing written.
			{"corrupt-d", volFlipByte(D, 256+40) + " && " + volFlipByte(D, 65536+256+40) + "\n" + volUnchanged(D, "caamcrypt open "+D), 5},
			{"corrupt-d-nothing", volNothingMapped + " && " + volNoCaamKeys, 0},
			{"no-caam", "rmmod caamsim", 0},
			{"doctor-no-caam", "caamcrypt doctor", 3},
			umountKeys,
		})
		if volDiskSum(t, m, "a") != sumA || volDiskSum(t, m, "b") != sumB {
			t.Errorf("%s: a refused open changed disk a or b", f)
		}
		t.Logf("TIMING %s TestVolumeLifecycle total %s", f, time.Since(total).Round(100*time.Millisecond))
	})
}
