package vm

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// inplaceBig (CAAMCRYPT_VM_INPLACE_BIG=1) runs TestInplace on a 256 MiB
// volume with a few thousand files instead of 48 MiB with a few hundred.
var inplaceBig = os.Getenv("CAAMCRYPT_VM_INPLACE_BIG") == "1"

// inplacePopulate is guest shell that makes an ext4 file system on $D
// with n files of mixed sizes (1..maxKiB KiB in 17 directories, a few MiB-sized
// ones, an empty one, a symlink, a file holding the marker $MK) and writes
// the manifest (sha256sum) and the metadata list (name, size, mode, owner,
// mtime, type) to /data.
func inplacePopulate(n, maxKiB, bigMiB int) string {
	return fmt.Sprintf(`set -e
mkfs.ext4 -q -L plainfs $D
mkdir -p /mnt/p && mount $D /mnt/p && cd /mnt/p
i=0
while [ $i -lt %d ]; do
	d=dir$((i %% 17)); mkdir -p $d
	dd if=/dev/urandom of=$d/f$i bs=1024 count=$(( (i * 7919) %% %d + 1 )) 2>/dev/null
	i=$((i + 1))
done
for j in 1 2 3; do dd if=/dev/urandom of=big$j bs=1M count=$((j * %d)) 2>/dev/null; done
: > empty; ln -s dir1/f1 link1; chmod 600 dir2/f2; chown 12:34 dir3/f3
i=0; while [ $i -lt 2000 ]; do echo "$MK line $i"; i=$((i + 1)); done > marker.txt
find . -type f | sort | xargs sha256sum > /data/manifest
find . | sort | xargs stat -c '%%n %%s %%a %%u %%g %%Y %%F' > /data/meta
echo "files: $(wc -l < /data/manifest), used: $(du -sk . | cut -f1) KiB"
cd / && umount /mnt/p
`, n, maxKiB, bigMiB)
}

// inplaceVerify is guest shell that checks the file system mounted on dir
// against the manifest and metadata list.
func inplaceVerify(dir string) string {
	return fmt.Sprintf(`cd %s || exit 90
sha256sum -c /data/manifest > /tmp/c.out 2>&1; rc=$?
echo "checksums: $(grep -c ': OK$' /tmp/c.out) ok, $(grep -vc ': OK$' /tmp/c.out) not"
[ $rc = 0 ] || { grep -v ': OK$' /tmp/c.out | head; exit 91; }
find . | sort | xargs stat -c '%%n %%s %%a %%u %%g %%Y %%F' > /tmp/meta
cmp /tmp/meta /data/meta || { diff /data/meta /tmp/meta | head; exit 92; }
echo "metadata: $(wc -l < /tmp/meta) entries equal"
cd /
`, dir)
}

// TestInplace proves caamcrypt encrypt, reencrypt and decrypt on a
// populated ext4 in one boot per flavour (udev: the short list, see below) (the real binary with the test
// pause hooks, caamsim): refusals before anything is written (mounted,
// already encrypted), --dry-run writes nothing, an encrypt stopped by
// SIGTERM (exit 143) and then killed (-9) at the encrypt-chunk pause point
// is refused by open, decrypt, format and mount, and finishes when run
// again; every file's checksum and metadata equal the manifest made
// before; the raw disk holds no plaintext; a reencrypt killed at
// reencrypt-chunk resumes, after which the old header (old blob) is a
// wrong key and the new one opens; a decrypt killed at decrypt-chunk
// resumes, and the raw device passes e2fsck -f -n and mounts with every
// file equal.
func TestInplace(t *testing.T) {
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		start := time.Now()
		size, files, maxKiB, bigMiB := 64, 300, 96, 1
		if inplaceBig {
			size, files, maxKiB, bigMiB = 256, 3000, 48, 8
		}
		disks := []DiskSpec{{Name: "keys", SizeMiB: 16}, {Name: "data", SizeMiB: size}, {Name: "full", SizeMiB: 16}, {Name: "fmt", SizeMiB: 24}}
		m0 := &Machine{cfg: Config{Disks: disks}}
		K, D, FULL, FMT := m0.GuestDevice("keys"), m0.GuestDevice("data"), m0.GuestDevice("full"), m0.GuestDevice("fmt")
		bin, err := BuildGoTestHooks("./cmd/caamcrypt")
		if err != nil {
			t.Fatalf("QEMU rig: %v", err)
		}
		m := New(t, Config{
			Flavour:      f,
			Disks:        disks,
			Binaries:     map[string]string{"/usr/bin/caamcrypt": bin, "/usr/sbin/resize2fs": "/usr/sbin/resize2fs"},
			Files:        map[string][]byte{interruptLib: interruptLibFile(t)},
			ExtraModules: []Module{CaamsimModule(t, "")},
			Timeout:      20 * time.Minute,
		})
		mk := "caamcrypt-inplace-" + hex.EncodeToString(randomBytes(t, 10))
		env := fmt.Sprintf("D=%s; MK=%s\n", D, volQ(mk))
		src := ". " + interruptLib + "\n" + env
		// refused CMD WORDS...: CMD must exit 4 saying every WORD.
		refused := func(cmd string, words ...string) string {
			var b strings.Builder
			fmt.Fprintf(&b, "%s >/tmp/r.out 2>&1; r=$?; echo \"%s: rc=$r\"; sed 's/^/  | /' /tmp/r.out\n", cmd, strings.ReplaceAll(cmd, "$", ""))
			fmt.Fprintf(&b, "[ $r = 4 ] || bad '%s: exit '$r', want 4'\n", strings.ReplaceAll(cmd, "$", ""))
			for _, w := range words {
				fmt.Fprintf(&b, "grep -q '%s' /tmp/r.out || bad 'no \"%s\"'\n", w, w)
			}
			return b.String()
		}
		// ends is volUnchanged over the places a transition writes first
		// (the first 8 MiB: first block, header area, first chunks; the
		// last MiB: the record), cheaper than hashing the whole disk twice.
		ends := func(dev, cmd string) string {
			sum := fmt.Sprintf("{ dd if=%s bs=1M count=8 2>/dev/null; dd if=%s bs=1M skip=%d 2>/dev/null; } | sha256sum", dev, dev, size-1)
			return fmt.Sprintf("s1=$(%s); %s; rc=$?; s2=$(%s); echo \"ends before ${s1%%%% *} after ${s2%%%% *}\"\n"+
				"[ \"$s1\" = \"$s2\" ] || exit 99; exit $rc", sum, cmd, sum)
		}
		inTransition := func(op string) string {
			return refused("$CC open $D", op+" in progress") + refused("$CC format $D --fs none", op+" in progress") +
				refused("$CC header dump $D", op+" in progress") +
				"if mount -t ext4 $D /mnt/x 2>/dev/null; then umount /mnt/x; bad 'the raw device mounts'; fi\n"
		}
		// The raw device never shows the marker while it is encrypted
		// (the guest reads it; the host sees the disk only after the boot).
		noMarker := "if grep -qF \"$MK\" $D; then bad 'plaintext marker on the raw device'; else echo 'no plaintext marker on the raw device'; fi\n"
		steps := []volStep{
			{"mkfs-keys", "mkfs.ext4 -q -L keys " + K + " && mkdir -p /data /mnt/x && mount " + K + " /data && mkdir -p /data/caam", 0},
			{"populate", env + inplacePopulate(files, maxKiB, bigMiB), 0},
			// A file system without room for the header: refused before any write.
			{"too-full", "mkfs.ext4 -q " + FULL + " && mount " + FULL + " /mnt/x && dd if=/dev/urandom of=/mnt/x/fill bs=1M count=12 2>/dev/null; " +
				"umount /mnt/x && " + volUnchanged(FULL, "caamcrypt encrypt "+FULL), 4},
			// A file system with errors (here its superblock's free-blocks
			// count zeroed, so its checksum fails): refused before any
			// write, naming e2fsck.
			{"encrypt-unclean", "mkfs.ext4 -q -F " + FULL + " && " + volFlipByte(FULL, 1024+12) + " && " +
				volUnchanged(FULL, "caamcrypt encrypt "+FULL), 4},
			{"encrypt-mounted", src + "mount $D /mnt/p || exit 1\n" + refused("$CC encrypt $D", "mounted") + "umount /mnt/p\nverdict", 0},
			{"encrypt-dry-run", env + ends(D, "caamcrypt encrypt "+D+" --dry-run"), 0},
			{"decrypt-plain", env + ends(D, "caamcrypt decrypt "+D), 6},
			{"encrypt-term", src + "start encrypt-chunk $CC encrypt $D --name vd --save-key\nhit TERM\nwant_sig_rc TERM\n" +
				"grep -q 'caamcrypt encrypt again' /tmp/cmd.out || bad 'no resume hint'\nnothing_left /mnt/vd\n" +
				inTransition("encrypt") + refused("$CC decrypt $D", "encrypt in progress") + "verdict", 0},
			{"encrypt-kill", src + "start encrypt-chunk $CC encrypt $D\nhit KILL\nwant_sig_rc KILL\n" + inTransition("encrypt") + "verdict", 0},
			{"encrypt-resume", env + "caamcrypt encrypt $D --json > /tmp/e.json; r=$?; tail -n 2 /tmp/e.json; " +
				"grep -q '\"op\":\"encrypt\",\"done\"' /tmp/e.json || exit 80; exit $r", 0},
			{"encrypted-state", src + "nothing_left /mnt/vd\n" + refused("$CC encrypt $D", "caamcrypt header") +
				"ls /data/caam/vd /data/caam/vd.bb || bad 'no saved key'\n" + noMarker + "verdict", 0},
			{"open-encrypted", env + "caamcrypt open $D --mount /mnt/vd || exit 1\n" + inplaceVerify("/mnt/vd") + "caamcrypt close vd", 0},
			{"backup-old-header", "caamcrypt header backup " + D + " /data/old.hdr", 0},
			{"reencrypt-kill", src + "start reencrypt-chunk $CC reencrypt $D\nhit KILL\nwant_sig_rc KILL\n" +
				inTransition("reencrypt") + refused("$CC decrypt $D", "reencrypt in progress") + "verdict", 0},
			{"reencrypt-resume", src + "$CC reencrypt $D || exit 1\n" + noMarker + "verdict", 0},
			{"open-reencrypted", env + "caamcrypt open $D --mount /mnt/vd || exit 1\n" + inplaceVerify("/mnt/vd") +
				"caamcrypt close vd && caamcrypt header backup $D /data/new.hdr", 0},
			{"old-key-refused", env + "caamcrypt header restore --force $D /data/old.hdr || exit 90\ncaamcrypt open $D; r=$?\n" +
				"caamcrypt header restore --force $D /data/new.hdr || exit 91\nexit $r", 5},
			{"decrypt-kill", src + "start decrypt-chunk $CC decrypt $D\nhit KILL\nwant_sig_rc KILL\n" +
				inTransition("decrypt") + refused("$CC reencrypt $D", "decrypt in progress") + "verdict", 0},
			{"decrypt-resume", env + "caamcrypt decrypt $D", 0},
			{"decrypted", src + "nothing_left /mnt/p\ne2fsck -f -n $D || exit 1\nmount $D /mnt/p || exit 1\n" + inplaceVerify("/mnt/p") +
				"umount /mnt/p\nblkid $D\nverdict", 0},
			// A volume made by format (payload offset 1 MiB, payload to the
			// end of the device): decrypt shrinks its file system out of
			// the record's 64 KiB first, through the mapping.
			{"decrypt-formatted", "set -e\ncaamcrypt format " + FMT + " --name vf --mount /mnt/f\n" +
				"mount " + D + " /mnt/p && cp -a /mnt/p/dir1 /mnt/p/dir2 /mnt/p/big1 /mnt/f/ && umount /mnt/p\n" +
				"cd /mnt/f && find . -type f | sort | xargs sha256sum > /tmp/fm && cd / && caamcrypt close vf\n" +
				"caamcrypt decrypt --grow " + FMT + "\ne2fsck -f -n " + FMT + " >/dev/null\nmount " + FMT + " /mnt/f && cd /mnt/f && sha256sum -c /tmp/fm > /tmp/fc\n" +
				"echo \"formatted volume decrypted: $(grep -c ': OK$' /tmp/fc) files equal\"; cd / && umount /mnt/f", 0},
			{"umount-keys", "umount /data", 0},
		}
		// The udev flavour adds what udev changes (mapping nodes made by
		// udev for every transition mapping) to the default run's cost
		// only once: there the refusals, the dry run and the kills are left
		// out (the noudev run has them); the knobs run everything in both.
		if f == Udev && !inplaceBig && !fullInterrupts {
			var short []volStep
			for _, s := range steps {
				switch s.name {
				case "too-full", "encrypt-unclean", "decrypt-formatted", "encrypt-mounted", "encrypt-dry-run", "decrypt-plain", "encrypt-kill", "reencrypt-kill", "decrypt-kill":
				default:
					short = append(short, s)
				}
			}
			steps = short
		}
		res := volRunTimeout(t, m, "", steps, 20*time.Minute)
		for _, s := range []string{"populate", "encrypt-resume", "reencrypt-resume", "decrypt-resume", "open-encrypted", "decrypted"} {
			if r := res.Step(s); r != nil {
				t.Logf("%s: %s in %s\n%s", f, s, r.Duration.Round(100*time.Millisecond), lastLines(r.Output, 4))
			}
		}
		if res.Step("too-full") != nil {
			wantOutput(t, res, "too-full", "too little free space")
		}
		if res.Step("encrypt-unclean") != nil {
			wantOutput(t, res, "encrypt-unclean", "not clean", "e2fsck -f")
		}
		wantOutput(t, res, "encrypt-resume", `"op":"encrypt"`)
		wantOutput(t, res, "encrypted-state", "no plaintext marker")
		wantOutput(t, res, "open-encrypted", "checksums:", "metadata:")
		wantOutput(t, res, "old-key-refused", "wrong key")
		wantOutput(t, res, "decrypted", "checksums:", "metadata:")
		if res.Step("decrypt-formatted") != nil {
			wantOutput(t, res, "decrypt-formatted", "files equal")
		}
		t.Logf("TIMING %s TestInplace total %s", f, time.Since(start).Round(time.Second))
	})
}
