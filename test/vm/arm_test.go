package vm

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/header"
)

// TestARM runs caamcrypt where it is meant to run: in an arm64 guest
// (i.MX8/9) and an armhf guest (i.MX6/7, 32-bit ARM), each with Debian's
// kernel of that architecture, the CAAM simulator cross-built against it
// and the cross-built caamcrypt binary (cgo, libdevmapper of that
// architecture). qemu-user cannot issue the caam-keygen ioctl nor add_key
// (docs/caam-abi.md §12), so this is what proves the 56-byte ioctl struct
// and the cgo path on 32-bit ARM.
//
// A representative part of the amd64 scenarios, built from the same step
// lists, in three power-ons of one machine per architecture (noudev):
//
//  1. the seed's flow (csSeedSteps: 16-byte ECB key 36/96 B, CCM key, keyctl,
//     dmsetup with the seed's table, mkfs, write); a caamcrypt volume
//     formatted, written and closed, and a second one whose blob the host
//     then damages; ECB and CCM keys of 16 and 32 bytes (36/52 B black
//     keys, 96/112 B blobs) with their key info;
//  2. the volume opens and reads its marker; the damaged one is refused
//     with exit 5, nothing mapped, device unchanged; then, with the
//     simulator reloaded as another device (otpmk), the seed's blob
//     (csForeignSteps) and the volume are refused with exit 5, nothing
//     mapped, disk untouched;
//  3. cold boot (csColdBootSteps: new JDKEK; the stale ECB key maps garbage,
//     the stale CCM key is refused, a tampered blob exits 5, the blob
//     import reads the data back).
func TestARM(t *testing.T) {
	RequireVM(t)
	for _, a := range ARMArches {
		a := a
		t.Run(string(a), func(t *testing.T) { armStory(t, a) })
	}
}

// armKeySizes are the key sizes tried on ARM: the seed's 16 and the
// 32-byte keys of AES-256.
var armKeySizes = []int{16, 32}

func armStory(t *testing.T, a Arch) {
	total := time.Now()
	RequireArch(t, a)
	bin, err := BuildGoFor(a, "./cmd/caamcrypt")
	if err != nil {
		t.Fatalf("cross-build caamcrypt for %s: %v", a, err)
	}
	m := New(t, Config{
		Arch:    a,
		Flavour: NoUdev,
		Disks: []DiskSpec{
			{Name: "secure", SizeMiB: 32}, // the seed's volume
			{Name: "data", SizeMiB: 16},   // /data, holding /data/caam
			{Name: "vol", SizeMiB: 16},    // a caamcrypt volume
			{Name: "volt", SizeMiB: 16},   // a caamcrypt volume whose blob gets damaged
		},
		Binaries:     map[string]string{"/usr/bin/caamcrypt": bin},
		ExtraModules: []Module{CaamsimModuleFor(t, a, "")},
		// Under TCG an ARM guest runs several times slower than amd64.
		Timeout: 10 * time.Minute,
	})
	sec, data, vol, volt := m.GuestDevice("secure"), m.GuestDevice("data"), m.GuestDevice("vol"), m.GuestDevice("volt")
	marker := "meter-reading-" + hex.EncodeToString(randomBytes(t, 12))
	vmarker := "caamcrypt-vol-" + hex.EncodeToString(randomBytes(t, 10))
	mountData := volStep{"vol-data", csMountData(data) + " && mkdir -p /data/caam", 0}
	umountData := volStep{"vol-umount", "sync && umount /data", 0}
	nothing := volNothingMapped + " && " + volNoCaamKeys

	// Power-on 1.
	vol1 := []volStep{
		mountData,
		{"vol-format", "caamcrypt format " + vol + " --label va --mount /mnt/a && echo " + volQ(vmarker) + " > /mnt/a/marker && caamcrypt close va", 0},
		{"vol-format-t", "caamcrypt format " + volt + " --label vt --fs none && caamcrypt close vt", 0},
		{"vol-closed", nothing, 0},
		umountData,
	}
	steps := append(csSeedSteps(NoUdev, sec, data, marker), volBootSteps(vol1)...)
	steps = append(steps, csKeySizeSteps(armKeySizes)...)
	res := m.Boot(Boot{Steps: steps})
	t.Logf("TIMING %s power-on 1: wall %s", a, res.Wall.Round(100*time.Millisecond))
	res.Require(t)
	csCheckSeed(t, m, res, marker)
	volCheck(t, m, res, vol1)
	csCheckKeySizes(t, res, armKeySizes)
	requireNoPlaintext(t, m, "vol", vmarker)
	if t.Failed() {
		t.FailNow()
	}

	// Host: one flipped bit in volt's blob, the header checksum kept valid,
	// so only the CAAM's blob check can tell.
	volEditHeader(t, m, "volt", func(h *header.Header) { h.Blob[40] ^= 0x10 })

	// Power-on 2: the volumes on the same device; then the simulator
	// reloaded with another device's OTPMK (as the amd64 scenarios' third
	// power-on, here without a fourth boot): the blob and the volume are
	// refused. Without a shared session keyring: caamcrypt cannot link its
	// key from @u into a session keyring that does not link @u (see the
	// README's ARM section).
	sum := volDiskSum(t, m, "volt")
	otherDevice := "rmmod caamsim && insmod " + m.host.guestModulesDir() + "/extra/caamsim.ko otpmk=" + otherOTPMK +
		" && test -c /dev/caam-keygen"
	vol2 := []volStep{
		mountData,
		{"vol-open", "caamcrypt open " + vol + " --mount /mnt/a && cat /mnt/a/marker && caamcrypt close va && " + nothing, 0},
		{"vol-tampered", volUnchanged(volt, "caamcrypt open "+volt), 5},
		{"vol-tampered-nothing", nothing + " && test ! -e /dev/mapper/vt", 0},
		umountData,
		{"other-device", otherDevice, 0},
	}
	vol2b := []volStep{
		{"vol-foreign", volUnchanged(vol, "caamcrypt open "+vol), 5},
		{"vol-foreign-nothing", nothing + " && test ! -e /dev/mapper/va", 0},
	}
	steps = append(volBootSteps(vol2), csForeignSteps(data)...)
	res = m.Boot(Boot{Steps: append(steps, volBootSteps(vol2b)...)})
	t.Logf("TIMING %s power-on 2: wall %s", a, res.Wall.Round(100*time.Millisecond))
	volCheck(t, m, res, vol2)
	volCheck(t, m, res, vol2b)
	wantOutput(t, res, "vol-open", vmarker)
	csCheckForeign(t, res)
	if volDiskSum(t, m, "volt") != sum {
		t.Errorf("%s: the refused open changed the tampered volume's disk", a)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Power-on 3: cold boot with the seed's keys in one session keyring:
	// the stale black keys of power-on 1, the tampered blob, the blob
	// import that reads the data back.
	res = m.Boot(Boot{SharedSession: true, Steps: csColdBootSteps(NoUdev, sec, data)})
	t.Logf("TIMING %s power-on 3: wall %s", a, res.Wall.Round(100*time.Millisecond))
	csCheckColdBoot(t, m, res, marker)
	t.Logf("TIMING %s TestARM total %s", a, time.Since(total).Round(100*time.Millisecond))
}
