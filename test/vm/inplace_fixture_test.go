package vm

import (
	"strings"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/test/vm/fsfixture"
)

// TestInplaceFixture proves the in-place proofs' fixture and its checker
// in the guest with the existing format/open, before any in-place command:
//
//   - the host-made populated ext4 mounts in the guest and fx_verify finds
//     exactly the host's manifest (modes with setuid/setgid/sticky, owners,
//     sizes, mtimes, SHA-256 of every file, link targets, a FIFO);
//   - the check can fail: a changed byte, a changed mode and a removed
//     symlink on a copy are each reported;
//   - the file system copied block by block into a caamcrypt volume (the
//     same bytes an in-place encrypt moves) passes e2fsck -f -n and
//     fx_verify through the mapping after a power cycle, while the raw
//     device neither mounts nor is formatted without --force.
func TestInplaceFixture(t *testing.T) {
	fx := ipMakeFixture(t, fsfixture.Short(12), 32, 24)
	files := fx.files()
	files["/etc/caamcrypt-test/copy.sh"] = []byte(ipCopyFn(fx.fsMiB))
	m := New(t, Config{
		Flavour:      NoUdev,
		Disks:        []DiskSpec{{Name: "src", SizeMiB: fx.devMiB}, {Name: "tamper", SizeMiB: fx.devMiB}, {Name: "vol", SizeMiB: fx.devMiB}},
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
		Files:        files,
		ExtraModules: []Module{CaamsimModule(t, "")},
		Timeout:      8 * time.Minute,
	})
	fx.load(t, m, "src")
	fx.load(t, m, "tamper")
	SRC, TAM, VOL := m.GuestDevice("src"), m.GuestDevice("tamper"), m.GuestDevice("vol")
	lib := ". /etc/caamcrypt-test/inplace.sh; . /etc/caamcrypt-test/copy.sh; IPSRC=" + SRC + "\n"

	res := volRun(t, m, ipCmdline, []volStep{
		{"verify-source", lib + "ip_fs " + SRC + "; echo \"K=$K FX=$FX\"; [ $K = 0 ] && [ $FX = ok ]", 0},
		// One change of each kind on a copy: content, mode, a symlink gone.
		{"tamper", lib + "mkdir -p /mnt/t && mount " + TAM + " /mnt/t && f=$(find /mnt/t -type f -size +1k | head -n 1) && " +
			"printf X | dd of=\"$f\" bs=1 seek=100 conv=notrunc 2>/dev/null && chmod 0601 \"$(find /mnt/t -type f | tail -n 1)\" && " +
			"rm /mnt/t/link-rel && umount /mnt/t && ip_fs " + TAM + "; echo \"K=$K FX=$FX\"; [ $FX = bad:5 ]", 0},
		{"format-copy", lib + "caamcrypt format " + VOL + " --name ipv >/dev/null && ip_copy /dev/mapper/ipv && caamcrypt close ipv", 0},
	})
	if out := volOut(res, "verify-source"); !strings.Contains(out, "FX=ok") {
		t.Fatalf("the fixture does not verify in the guest:\n%s", out)
	}
	// bad:5 is one content line (its mtime changes too) and one mode line,
	// each as "-expected" and "+found", and the "-" line of the removed link.
	if out := volOut(res, "tamper"); !strings.Contains(out, "FX=bad:") {
		t.Fatalf("the checker missed the changes:\n%s", out)
	}
	res = volRun(t, m, ipCmdline, []volStep{
		{"open-verify", lib + "ip_final volume " + VOL + "; echo \"FIN=$FIN K=$K FX=$FX\"; [ $FIN = 0 ] && [ $K = 0 ] && [ $FX = ok ]", 0},
		{"raw-no-mount", "mkdir -p /mnt/r && if mount -o ro " + VOL + " /mnt/r; then umount /mnt/r; echo mounted; exit 1; fi", 0},
		{"format-refused", "caamcrypt format " + VOL + " --name ipv", 4},
	})
	t.Logf("fixture verified in the guest: %s", strings.TrimSpace(volOut(res, "open-verify")))
}
