package vm

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/pbkdf2"
)

// caamcrypt against the CAAM simulator (test/caamsim, issue 4), in both
// flavours, over three power-ons of one machine:
//
//  1. the seed's flow (docs/caam-abi.md §1) with caamcrypt's key files: key create,
//     keyctl padd logon ... @u, dmsetup create with the seed's exact table,
//     mkfs, mount, write;
//  2. a cold boot (module reloaded: new JDKEK, same otpmk, same disks), all
//     keys in @s inside one session (SharedSession): the boot-1 ECB black key
//     maps but does not mount, the boot-1 CCM black key does not even load,
//     a tampered blob is refused, the blob imports and the data reads back;
//  3. "another device" (caamsim.otpmk=... on the kernel command line): the
//     blob is refused as a wrong key; this device's own key files have the
//     facts' sizes, modes and tags (§3), bad sizes are usage errors, an
//     existing key is never overwritten and --force keeps a dated backup.

// csSeedTable is the seed's dm-crypt table for a logon key of keyLen bytes.
func csSeedTable(dev, desc string, keyLen int) string {
	return fmt.Sprintf(`"0 $(blockdev --getsz %s) crypt capi:tk(cbc(aes))-plain :%d:logon:%s: 0 %s 0 1 sector_size:512"`,
		dev, keyLen, desc, dev)
}

// csMapStep is `dmsetup create` with the seed's table; without udev nothing
// makes the /dev/mapper node, so dmsetup mknodes does (docs/caam-abi.md §7).
func csMapStep(f Flavour, name, dev, desc string, keyLen int) string {
	cmd := fmt.Sprintf("dmsetup -v create %s --table %s", name, csSeedTable(dev, desc, keyLen))
	if f == NoUdev {
		cmd += " && dmsetup mknodes " + name
	}
	return cmd + " && test -b /dev/mapper/" + name
}

// Expected file sizes from docs/caam-abi.md §3, computed here independently of
// package caamc: ECB black key csRoundup(L,16), CCM black key csRoundup(L,8)+12,
// blob csRoundup(L,8)+12+48, each plus the 20-byte tag.
func csRoundup(n, m int) int { return (n + m - 1) / m * m }

func csKeyFileSize(enc string, l int) int {
	if enc == "ccm" {
		return csRoundup(l, 8) + 12 + 20
	}
	return csRoundup(l, 16) + 20
}

func csBlobFileSize(l int) int { return csRoundup(l, 8) + 12 + 48 + 20 }

// csOut is a step's output without the line keyctl prints when a step
// joins the shared session keyring (Boot.SharedSession) and without
// trailing newlines.
func csOut(res *Result, step string) string {
	s := res.Step(step)
	if s == nil {
		return ""
	}
	var lines []string
	for _, l := range strings.Split(s.Output, "\n") {
		if !strings.HasPrefix(l, "Joined session keyring: ") {
			lines = append(lines, l)
		}
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// csRequireFailed fails unless the step ran to a non-zero exit code.
func csRequireFailed(t *testing.T, res *Result, step string) *StepResult {
	t.Helper()
	s := res.Step(step)
	if s == nil || !s.Done || s.ExitCode == 0 {
		t.Fatalf("step %s must fail, got %+v", step, s)
	}
	return s
}

func TestCaamsimSeedFlowAndKeys(t *testing.T) {
	RequireVM(t)
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		m := New(t, Config{
			Flavour:      f,
			Disks:        []DiskSpec{{Name: "secure", SizeMiB: 64}, {Name: "data", SizeMiB: 16}},
			Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
			ExtraModules: []Module{CaamsimModule(t, "")},
		})
		sec, data := m.GuestDevice("secure"), m.GuestDevice("data")
		marker := "meter-reading-" + hex.EncodeToString(randomBytes(t, 12))

		// Power-on 1: the seed's flow with caamcrypt's key files (default
		// key directory /data/caam, as caam-keygen).
		res := m.Boot(Boot{Steps: csSeedSteps(f, sec, data, marker)})
		res.Require(t)
		csCheckSeed(t, m, res, marker)

		// Power-on 2: new JDKEK, same otpmk; the seed's @s, in one session.
		res = m.Boot(Boot{SharedSession: true, Steps: csColdBootSteps(f, sec, data)})
		csCheckColdBoot(t, m, res, marker)

		// Power-on 3: another device, and this device's own key files.
		steps := csForeignSteps(data)
		steps = append(steps, csKeyFileSteps(data)...)
		res = m.Boot(Boot{Cmdline: "caamsim.otpmk=" + otherOTPMK, Steps: steps})
		csCheckForeign(t, res)
		csCheckKeyFiles(t, res)
		for _, st := range []string{"size-15", "enc-xts", "refuse", "force"} {
			t.Logf("boot 3 %s (exit %d): %s", st, res.Step(st).ExitCode, csOut(res, st))
		}
	})
}

func csMountData(data string) string { return "mkdir -p /data && mount -t ext4 " + data + " /data" }

// csSeedSteps is power-on 1: the seed's flow with caamcrypt's key files
// (default key directory /data/caam, as caam-keygen) on the disk data,
// the volume on sec holding marker.
func csSeedSteps(f Flavour, sec, data, marker string) []Step {
	mountData := csMountData(data)
	return []Step{
		{Name: "data-fs", Run: "mkfs.ext4 -q -L data " + data + " && " + mountData},
		{Name: "create", Run: "caamcrypt key create randomkey --enc ecb -s 16"},
		{Name: "create-ccm", Run: "caamcrypt key create ccmkey --enc ccm -s 16"},
		{Name: "sizes", Run: "stat -c '%s %a %n' /data/caam/randomkey /data/caam/randomkey.bb /data/caam/ccmkey /data/caam/ccmkey.bb /data/caam"},
		{Name: "padd", Run: "cat /data/caam/randomkey | keyctl padd logon logkey: @u"},
		{Name: "map", Run: csMapStep(f, "encrypted", sec, "logkey", 36)},
		{Name: "table", Run: "dmsetup table encrypted"},
		{Name: "mkfs", Run: "mkfs.ext4 -q -L secure /dev/mapper/encrypted"},
		{Name: "write", Run: "mkdir -p /mnt/secure && mount -t ext4 /dev/mapper/encrypted /mnt/secure && echo " + marker + " > /mnt/secure/hello.txt && sync"},
		{Name: "teardown", Run: "umount /mnt/secure && dmsetup remove --retry encrypted && keyctl clear @u && umount /data"},
	}
}

// csCheckSeed checks power-on 1 (csSeedSteps).
func csCheckSeed(t *testing.T, m *Machine, res *Result, marker string) {
	t.Helper()
	wantOutput(t, res, "create", "/data/caam/randomkey (36 bytes)", "/data/caam/randomkey.bb (96 bytes)")
	wantOutput(t, res, "sizes", "36 600 /data/caam/randomkey\n", "96 400 /data/caam/randomkey.bb\n",
		"48 600 /data/caam/ccmkey\n", "96 400 /data/caam/ccmkey.bb\n", " 700 /data/caam")
	wantOutput(t, res, "table", "crypt capi:tk(cbc(aes))-plain :36:logon:logkey: 0 ")
	requireNoPlaintext(t, m, "secure", marker)
}

// csColdBootSteps is power-on 2 (run with SharedSession): new JDKEK, same
// otpmk; stale black keys, a tampered blob, and the blob import that
// brings the volume of csSeedSteps back.
func csColdBootSteps(f Flavour, sec, data string) []Step {
	return []Step{
		{Name: "data", Run: csMountData(data)},
		// The boot-1 ECB black key: accepted, wrong key, garbage.
		{Name: "stale-ecb-padd", Run: "keyctl padd logon stale: @s < /data/caam/randomkey"},
		{Name: "stale-ecb-map", Run: csMapStep(f, "stale", sec, "stale", 36)},
		{Name: "stale-ecb-mount", Run: "mkdir -p /mnt/secure && mount -t ext4 -o ro /dev/mapper/stale /mnt/secure", MayFail: true},
		{Name: "stale-ecb-fsck", Run: "e2fsck -fn /dev/mapper/stale", MayFail: true},
		{Name: "stale-ecb-unmap", Run: "dmsetup remove --retry stale"},
		// The boot-1 CCM black key: its integrity check fails at setkey.
		{Name: "stale-ccm-padd", Run: "keyctl padd logon staleccm: @s < /data/caam/ccmkey"},
		{Name: "stale-ccm-map", Run: "dmsetup -v create staleccm --table " + csSeedTable(sec, "staleccm", 48), MayFail: true},
		{Name: "stale-ccm-gone", Run: "! dmsetup info staleccm"},
		// A blob with one byte flipped.
		{Name: "tamper", Run: "cp /data/caam/randomkey.bb /tmp/tampered.bb && chmod 600 /tmp/tampered.bb && " +
			"b=$(dd if=/tmp/tampered.bb bs=1 skip=60 count=1 2>/dev/null | od -An -tu1 | tr -d ' ') && " +
			"printf \"\\\\$(printf '%03o' $((b ^ 1)))\" | dd of=/tmp/tampered.bb bs=1 seek=60 count=1 conv=notrunc 2>/dev/null && " +
			"cmp -l /data/caam/randomkey.bb /tmp/tampered.bb | wc -l"},
		{Name: "tamper-import", Run: "caamcrypt key import /tmp/tampered.bb tampered", MayFail: true},
		{Name: "tamper-nofile", Run: "test ! -e /data/caam/tampered"},
		// A fresh CCM black key from its blob loads where the stale one did not.
		{Name: "fresh-ccm", Run: "caamcrypt key import /data/caam/ccmkey.bb ccmimported && " +
			"keyctl padd logon freshccm: @s < /data/caam/ccmimported && " +
			"dmsetup create freshccm --table " + csSeedTable(sec, "freshccm", 48) + " && dmsetup remove --retry freshccm"},
		// The seed's cold-boot path.
		{Name: "import", Run: "caamcrypt key import /data/caam/randomkey.bb imported"},
		{Name: "new-jdkek", Run: "stat -c '%s %a' /data/caam/imported && ! cmp -s /data/caam/randomkey /data/caam/imported"},
		{Name: "padd", Run: "cat /data/caam/imported | keyctl padd logon logkey: @s"},
		{Name: "map", Run: csMapStep(f, "encrypted", sec, "logkey", 36)},
		{Name: "read", Run: "mount -t ext4 /dev/mapper/encrypted /mnt/secure && cat /mnt/secure/hello.txt"},
		{Name: "teardown", Run: "umount /mnt/secure && dmsetup remove --retry encrypted && keyctl clear @s && umount /data"},
	}
}

// csCheckColdBoot checks power-on 2 (csColdBootSteps).
func csCheckColdBoot(t *testing.T, m *Machine, res *Result, marker string) {
	t.Helper()
	res.Require(t, "data", "stale-ecb-padd", "stale-ecb-map", "stale-ecb-unmap", "stale-ccm-padd", "stale-ccm-gone",
		"tamper", "tamper-nofile", "fresh-ccm", "import", "new-jdkek", "padd", "map", "read", "teardown")
	csRequireFailed(t, res, "stale-ecb-mount")
	s := csRequireFailed(t, res, "stale-ecb-fsck")
	if !strings.Contains(strings.ToLower(s.Output), "superblock") && !strings.Contains(strings.ToLower(s.Output), "super-block") {
		t.Errorf("e2fsck on the stale-key mapping does not complain about the superblock:\n%s", s.Output)
	}
	csRequireFailed(t, res, "stale-ccm-map")
	if got := strings.TrimSpace(csOut(res, "tamper")); got != "1" {
		t.Errorf("tampered blob differs in %q bytes, want 1", got)
	}
	s = res.RequireExit(t, "tamper-import", 5)
	if !strings.Contains(s.Output, "integrity") {
		t.Errorf("tampered blob: message does not name the integrity check:\n%s", s.Output)
	}
	wantOutput(t, res, "new-jdkek", "36 600")
	if got := csOut(res, "read"); got != marker {
		t.Errorf("after the power cycle read %q, want %q", got, marker)
	}
	requireNoPlaintext(t, m, "secure", marker)
	for _, st := range []string{"stale-ecb-mount", "stale-ecb-fsck", "stale-ccm-map", "tamper-import"} {
		t.Logf("cold boot: %s (exit %d): %s", st, res.Step(st).ExitCode, csOut(res, st))
	}
}

// csForeignSteps try the blob of csSeedSteps on another device (boot with
// caamsim.otpmk=otherOTPMK).
func csForeignSteps(data string) []Step {
	return []Step{
		{Name: "data", Run: csMountData(data)},
		{Name: "foreign-import", Run: "caamcrypt key import /data/caam/randomkey.bb foreign", MayFail: true},
		{Name: "foreign-nofile", Run: "test ! -e /data/caam/foreign && umount /data"},
	}
}

// csCheckForeign checks csForeignSteps: refused as a wrong key (exit 5),
// nothing written.
func csCheckForeign(t *testing.T, res *Result) {
	t.Helper()
	s := res.RequireExit(t, "foreign-import", 5)
	for _, w := range []string{"integrity", "another device", "/data/caam/randomkey.bb"} {
		if !strings.Contains(s.Output, w) {
			t.Errorf("foreign blob: message lacks %q:\n%s", w, s.Output)
		}
	}
	res.Require(t, "foreign-nofile")
	t.Logf("foreign-import (exit %d): %s", s.ExitCode, csOut(res, "foreign-import"))
}

// csDecodeInfos decodes the JSON objects `caamcrypt key info --json` printed
// one after another.
func csDecodeInfos(t *testing.T, out string) []csKeyInfo {
	t.Helper()
	var infos []csKeyInfo
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var in csKeyInfo
		if err := dec.Decode(&in); err != nil {
			t.Errorf("key info output is not JSON: %v\n%s", err, out)
			return infos
		}
		infos = append(infos, in)
	}
	return infos
}

var (
	csEncs  = []string{"ecb", "ccm"}
	csSizes = []int{16, 24, 32, 64}
)

// csHexKey24 is a 24-byte plaintext key without zero bytes (the driver reads
// "-t" keys as C strings).
const csHexKey24 = "1112131415161718191a1b1c1d1e1f202122232425262728"

// csPassphrase and csSalt make a derived key without a zero byte (the CLI
// refuses plaintext keys with one).
const (
	csPassphrase = "meter 4711 passphrase"
	csSalt       = "0011223344556677"
)

// csDerivedHex is the red key `key derive` must wrap for csPassphrase and
// csSalt with the CLI's defaults (SHA-256, 10000 iterations, 32 bytes).
func csDerivedHex() string {
	salt, _ := hex.DecodeString(csSalt)
	return hex.EncodeToString(pbkdf2.Key([]byte(csPassphrase), salt, 10000, 32, sha256.New))
}

// csDecryptSums maps dev read-only with each black key in /keys and prints
// a prefix of the SHA-256 of the first 4 KiB it decrypts to, one per key.
func csDecryptSums(dev string, keyLen int, keys ...string) string {
	return fmt.Sprintf("for k in %s; do keyctl padd logon $k: @u < /keys/$k >/dev/null && "+
		"dmsetup create --readonly m$k --table \"0 8 crypt capi:tk(cbc(aes))-plain :%d:logon:$k: 0 %s 0 1 sector_size:512\" && "+
		"dmsetup mknodes m$k && dd if=/dev/mapper/m$k bs=4096 count=1 2>/dev/null | sha256sum | cut -c1-16 && dmsetup remove --retry m$k || exit 1; done",
		strings.Join(keys, " "), keyLen, dev)
}

// csKeyFileSteps make, import and describe keys in /keys (a fresh key
// directory on the initramfs) and try what must be refused.
func csKeyFileSteps(dev string) []Step {
	cc := "caamcrypt --key-dir /keys "
	steps := csKeySizeSteps(csSizes)
	return append(steps,
		Step{Name: "mk-hex", Run: cc + "key create khex --enc ccm --hex " + csHexKey24 + " && stat -c '%s %a' /keys/khex /keys/khex.bb"},
		// The same plaintext wrapped twice: different black keys, same
		// red key, so both encrypt a disk identically; a random key does not.
		Step{Name: "hex-same-key", Run: cc + "key create khex2 --enc ccm --hex " + csHexKey24 + " >/dev/null && ! cmp -s /keys/khex /keys/khex2 && " +
			csDecryptSums(dev, 56, "khex", "khex2", "kccm24")},
		// key derive wraps exactly PBKDF2's key ("-t" with the red key's
		// length): it decrypts like the same key given with --hex.
		Step{Name: "derive", Run: "printf '%s\\n' '" + csPassphrase + "' | " + cc + "key derive kder --salt " + csSalt + " >/dev/null && " +
			cc + "key create kderhex --hex " + csDerivedHex() + " >/dev/null && stat -c '%s %a' /keys/kder /keys/kder.bb && " +
			csDecryptSums(dev, 52, "kder", "kderhex", "kecb32")},
		Step{Name: "dir", Run: "stat -c '%a' /keys"},
		Step{Name: "size-15", Run: cc + "key create bad15 --size 15", MayFail: true},
		Step{Name: "size-65", Run: cc + "key create bad65 --enc ccm --size 65", MayFail: true},
		Step{Name: "enc-xts", Run: cc + "key create badenc --enc xts --size 32", MayFail: true},
		Step{Name: "no-bad-files", Run: "ls /keys | grep bad; test $? -eq 1"},
		Step{Name: "hash-before", Run: "sha256sum /keys/kecb16.bb /keys/kecb16 > /tmp/before && cat /tmp/before"},
		Step{Name: "refuse", Run: cc + "key create kecb16 --size 16", MayFail: true},
		Step{Name: "hash-same", Run: "sha256sum -c /tmp/before"},
		Step{Name: "force", Run: cc + "key create kecb16 --size 16 --force"},
		Step{Name: "backup", Run: "set -e; b=$(ls /keys/kecb16.bb.2*); test \"$(sha256sum < $b | cut -d' ' -f1)\" = \"$(grep 'kecb16.bb$' /tmp/before | cut -d' ' -f1)\"; " +
			"! sha256sum -c /tmp/before >/dev/null 2>&1; stat -c '%s %a %n' $b"},
	)
}

// csKeySizeSteps make an ECB and a CCM key of each size in /keys, import
// each from its blob and describe all three files.
func csKeySizeSteps(sizes []int) []Step {
	cc := "caamcrypt --key-dir /keys "
	var steps []Step
	for _, enc := range csEncs {
		for _, l := range sizes {
			k := fmt.Sprintf("k%s%d", enc, l)
			i := fmt.Sprintf("i%s%d", enc, l)
			steps = append(steps,
				Step{Name: "mk-" + k, Run: fmt.Sprintf("%skey create %s --enc %s --size %d && %skey import /keys/%s.bb %s", cc, k, enc, l, cc, k, i)},
				Step{Name: "stat-" + k, Run: fmt.Sprintf("stat -c '%%s %%a' /keys/%s /keys/%s.bb /keys/%s", k, k, i)},
				Step{Name: "info-" + k, Run: fmt.Sprintf("caamcrypt key info --json /keys/%s && caamcrypt key info --json /keys/%s.bb && caamcrypt key info --json /keys/%s", k, k, i)},
			)
		}
	}
	return steps
}

// csKeyInfo is the part of `caamcrypt key info --json` checked here.
type csKeyInfo struct {
	Kind       string `json:"kind"`
	Color      string `json:"color"`
	Encryption string `json:"encryption"`
	KEK        string `json:"kek"`
	Memory     string `json:"memory"`
	Type       uint32 `json:"type"`
	RedKeyLen  int    `json:"red_key_len"`
	ObjectLen  int    `json:"object_len"`
	FileLen    int    `json:"file_len"`
	DMKeyLen   int    `json:"dm_key_len"`
}

func csCheckKeyFiles(t *testing.T, res *Result) {
	t.Helper()
	csCheckKeySizes(t, res, csSizes)
	res.Require(t, "mk-hex", "hex-same-key", "derive", "dir", "no-bad-files", "hash-before", "hash-same", "force", "backup")
	if got, want := csOut(res, "mk-hex"), fmt.Sprintf("%d 600\n%d 400", csKeyFileSize("ccm", 24), csBlobFileSize(24)); !strings.HasSuffix(got, want) {
		t.Errorf("--hex 24-byte CCM key: %q, want sizes %q", got, want)
	}
	if sums := strings.Fields(csOut(res, "hex-same-key")); len(sums) != 3 || sums[0] != sums[1] || sums[0] == sums[2] {
		t.Errorf("same --hex key twice must decrypt alike and unlike a random key; sha256 prefixes: %q", sums)
	}
	if f := strings.Fields(csOut(res, "derive")); len(f) != 7 || f[0] != "52" || f[1] != "600" || f[2] != "112" || f[3] != "400" || f[4] != f[5] || f[4] == f[6] {
		t.Errorf("key derive: want a 52/112-byte ECB key decrypting like the PBKDF2 key given with --hex, unlike another key; got %q", f)
	}
	if got := csOut(res, "dir"); got != "700" {
		t.Errorf("key directory mode %q, want 700", got)
	}
	for _, step := range []string{"size-15", "size-65"} {
		s := res.RequireExit(t, step, 2)
		if !strings.Contains(s.Output, "Invalid key size, expected values are between 16 and 64 bytes.") {
			t.Errorf("%s: the driver's message is missing:\n%s", step, s.Output)
		}
	}
	wantOutput(t, res, "enc-xts", "xts")
	res.RequireExit(t, "enc-xts", 2)
	s := res.RequireExit(t, "refuse", 4)
	if !strings.Contains(s.Output, "/keys/kecb16") || !strings.Contains(s.Output, "--force") {
		t.Errorf("refusal does not name the file and --force:\n%s", s.Output)
	}
	wantOutput(t, res, "force", "previous blob kept as /keys/kecb16.bb.2")
	wantOutput(t, res, "backup", "96 400 /keys/kecb16.bb.2")
}

// csCheckKeySizes checks csKeySizeSteps: the facts' file sizes and modes
// (docs/caam-abi.md §3) and what key info reports for each file.
func csCheckKeySizes(t *testing.T, res *Result, sizes []int) {
	t.Helper()
	for _, enc := range csEncs {
		for _, l := range sizes {
			k := fmt.Sprintf("k%s%d", enc, l)
			res.Require(t, "mk-"+k, "stat-"+k, "info-"+k)
			kf, bf := csKeyFileSize(enc, l), csBlobFileSize(l)
			want := fmt.Sprintf("%d 600\n%d 400\n%d 600", kf, bf, kf)
			if got := csOut(res, "stat-"+k); got != want {
				t.Errorf("%s %d-byte key: sizes and modes (key, blob, imported key)\n%s\nwant\n%s", enc, l, got, want)
			}
			infos := csDecodeInfos(t, res.Step("info-"+k).Output)
			if len(infos) != 3 {
				t.Errorf("%s: %d key info objects, want 3", k, len(infos))
				continue
			}
			typ := uint32(1)
			if enc == "ccm" {
				typ = 9
			}
			for i, in := range infos {
				kind, fileLen, dm := "black-key", kf, kf
				if i == 1 {
					kind, fileLen, dm = "blob", bf, 0
				}
				want := csKeyInfo{Kind: kind, Color: "black", Encryption: enc, KEK: "JDKEK", Memory: "general",
					Type: typ, RedKeyLen: l, ObjectLen: fileLen - 20, FileLen: fileLen, DMKeyLen: dm}
				if in != want {
					t.Errorf("%s object %d: key info %+v, want %+v", k, i, in, want)
				}
			}
		}
	}
}
