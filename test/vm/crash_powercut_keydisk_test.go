package vm

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCrashPowerCutsKeyDisk pulls the plug while caamcrypt writes to two
// disks at once, each with its own volatile write cache (VolatileCache):
// the key directory's file system on one, volumes on others. A flush of
// one disk makes nothing on the other durable, so caamcrypt must have
// flushed a key's files before it writes a volume that needs them (the
// joint crash-state replay, TestCrashStatesJoint, keeps both on one disk
// behind one cache). Cut at seeded random moments:
//   - format --save-key of a caamcrypt volume (key files, then header);
//   - key create --force, then format --key with that key;
//   - key create, then format --type plain --key (the key files are then
//     the volume's only key).
//
// After each cut the next boot checks: the key file system passes
// e2fsck -p and mounts; every blob file of the key directory is complete
// (it imports), never partial; the caamcrypt volume opens (never "wrong
// key") and its file system checks clean, or is refused as "format did not
// finish"; when it opens, a blob file of the key directory (NAME.bb, or the
// dated copy key create --force keeps) has its header's blob; when the
// plain volume's disk changed, its key's blob file is there, complete.
// Figures: @@RELIABILITY|power-cuts|<op>, key disk apart|<cuts>|<problems>.
// CAAMCRYPT_RELIABILITY=long: 20 cuts per operation; otherwise 1;
// CAAMCRYPT_POWERCUTS=N sets the number.
func TestCrashPowerCutsKeyDisk(t *testing.T) {
	per := powerCutsPer(1)
	disks := []DiskSpec{{Name: "k", SizeMiB: 16}, {Name: "v", SizeMiB: 16}, {Name: "p", SizeMiB: 16}}
	m := New(t, Config{
		Flavour:      NoUdev,
		Disks:        disks,
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
		Files:        map[string][]byte{"/etc/kd.sh": []byte(kdLib)},
		ExtraModules: []Module{CaamsimModule(t, "")},
		Timeout:      5 * time.Minute,
		DiskCache:    VolatileCache,
	})
	K, V, P := m.GuestDevice("k"), m.GuestDevice("v"), m.GuestDevice("p")
	lib := ". /etc/kd.sh\n"
	volRun(t, m, "", []volStep{
		{"keys", lib + "mkfs.ext4 -q -L keys " + K + " && mkdir -p /keys && mount " + K + " /keys && mkdir -m 0700 /keys/caam", 0},
		{"format-v", lib + "caamcrypt format " + V + " --name cv --label cv --save-key && caamcrypt close cv", 0},
		{"format-p", lib + "caamcrypt key create pk && caamcrypt format " + P + " --type plain --key pk --name pv && caamcrypt close pv && umount /keys", 0},
	})
	pSum := volDiskSum(t, m, "p")
	pChanged := false // the plain volume's disk changed in the boot of the last operation
	shown := 0
	ops := []pcOp{
		{"format-save-key", lib + "kd_set_aside cv",
			lib + "caamcrypt format " + V + " --force --name cv --label cv --save-key && caamcrypt close cv", 5 * time.Second},
		{"key-create-force.format-key", "",
			lib + "caamcrypt key create cv --force && caamcrypt format " + V + " --force --name cv --label cv --key cv && caamcrypt close cv", 6 * time.Second},
		{"key-create.format-plain", lib + "caamcrypt close pv >/dev/null 2>&1; rm -f /keys/caam/pk /keys/caam/pk.bb && sync",
			lib + "caamcrypt key create pk && caamcrypt format " + P + " --type plain --key pk --name pv --force && caamcrypt close pv", 6 * time.Second},
	}
	pcRun{
		m: m, seed: 20261202, group: "power-cuts", disk: "key disk apart, volatile caches", ops: ops,
		check: lib + fmt.Sprintf("kd_check %s %s", K, V),
		judge: func(out, op string) []string {
			if shown++; shown == 1 {
				t.Logf("the check after a cut during %s, for the record:\n%s", op, out)
			}
			return kdVerdict(out, pChanged)
		},
		afterBoot: func(op string) {
			s := volDiskSum(t, m, "p")
			pChanged = s != pSum
			pSum = s
		},
	}.run(t, per)
}

// kdVerdict judges the check step's @@KD lines: one entry per problem.
// plainChanged: the plain volume's disk changed since the last check.
func kdVerdict(out string, plainChanged bool) (bad []string) {
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "@@KD "); ok {
			name, fields, _ := strings.Cut(rest, " ")
			lines[name] = fields
		}
	}
	field := ipField // KEY=VALUE fields of a line
	keyfs, ok := lines["keyfs"]
	if !ok {
		return []string{"no check of the key file system"}
	}
	if k := field(keyfs, "fsck"); k != "0" && k != "1" {
		bad = append(bad, "key file system: e2fsck -p exit "+k)
	}
	if field(keyfs, "mount") != "ok" {
		return append(bad, "key file system does not mount")
	}
	blobs := map[string]bool{} // fingerprint -> imports
	for _, f := range strings.FieldsFunc(field(lines["blobs"], "files"), func(r rune) bool { return r == ',' }) {
		fp, state, _ := strings.Cut(f, ":")
		if state != "ok" {
			bad = append(bad, "blob file "+fp+" is not a complete blob (it does not import)")
		}
		blobs[fp] = state == "ok"
	}
	cv, ok := lines["cv"]
	if !ok {
		return append(bad, "no check of the caamcrypt volume")
	}
	_, msg, _ := strings.Cut(cv, "out=")
	switch o := field(cv, "open"); {
	case o == "0":
		if n := field(cv, "fsck"); n != "0" {
			bad = append(bad, "caamcrypt volume opens but e2fsck -fn exit "+n)
		}
		if fp := field(cv, "fp"); !blobs[fp] {
			bad = append(bad, "caamcrypt volume's blob "+fp+" is in no complete blob file of the key directory")
		}
	case o == "5":
		bad = append(bad, "caamcrypt volume refused as wrong key: "+msg)
	case strings.Contains(msg, "did not finish"):
	default:
		bad = append(bad, "caamcrypt volume: open exit "+o+": "+msg)
	}
	if pk := field(lines["pk"], "blob"); plainChanged && pk != "ok" {
		bad = append(bad, "the plain volume's disk changed but its key's blob file is "+pk)
	}
	return bad
}

// kdLib: the key directory on its own file system (/keys/caam).
// kd_check KEYDEV VOLDEV checks the key file system, its blob files, the
// caamcrypt volume cv and the plain volume's key pk, printing @@KD lines
// (kdVerdict); it leaves the key file system mounted. kd_set_aside NAME
// moves a key's files out of format --save-key's way, keeping the blob
// under another name so the volume it belongs to still finds it.
const kdLib = `export CAAMCRYPT_KEY_DIR=/keys/caam
imports() {
	rm -rf /tmp/kc && mkdir -m 0700 /tmp/kc && CAAMCRYPT_KEY_DIR=/tmp/kc timeout -s KILL 60 caamcrypt key import "$1" chk >/dev/null 2>&1
}
kd_check() {
	timeout -s KILL 120 e2fsck -p "$1" >/dev/null 2>&1; k=$?
	mkdir -p /keys; mt=ok; mount "$1" /keys || mt=failed
	echo "@@KD keyfs fsck=$k mount=$mt"
	[ $mt = ok ] || return 0
	files=
	for f in /keys/caam/*.bb*; do
		[ -e "$f" ] || continue
		i=bad; imports "$f" && i=ok
		files="$files,$(sha256sum < "$f" | cut -c1-16):$i"
	done
	echo "@@KD blobs files=${files#,}"
	out=$(timeout -s KILL 120 caamcrypt open "$2" --name cv 2>&1); o=$?
	fp=- n=-
	if [ $o = 0 ]; then
		fp=$(caamcrypt header dump "$2" | sed -n 's/^Blob: *[0-9]* bytes, sha256 \([0-9a-f]*\)\.\.\..*/\1/p')
		timeout -s KILL 120 e2fsck -fn /dev/mapper/cv >/dev/null 2>&1; n=$?
		caamcrypt close cv >/dev/null 2>&1 || echo "close cv failed"
	fi
	echo "@@KD cv open=$o fsck=$n fp=$fp out=$(echo "$out" | tail -n 2 | tr '\n' ' ')"
	p=absent
	if [ -e /keys/caam/pk.bb ]; then p=bad; imports /keys/caam/pk.bb && p=ok; fi
	echo "@@KD pk blob=$p"
	return 0
}
kd_set_aside() {
	rm -f "/keys/caam/$1"
	[ -e "/keys/caam/$1.bb" ] && mv "/keys/caam/$1.bb" "/keys/caam/$1.bb.aside$(date +%s%N)"
	sync
}
`

// kdVerdict accepts what a sound state prints and names each problem of
// one that is not (no VM needed).
func TestCrashKeyDiskVerdict(t *testing.T) {
	const good = "@@KD keyfs fsck=1 mount=ok\n@@KD blobs files=aaaa:ok,bbbb:ok\n@@KD cv open=0 fsck=0 fp=bbbb out=\n@@KD pk blob=ok\n"
	cases := []struct {
		name, out string
		changed   bool
		want      []string // fragments, one per problem
	}{
		{"sound", good, true, nil},
		{"unfinished format", strings.Replace(good, "cv open=0 fsck=0 fp=bbbb out=", "cv open=4 fsck=- fp=- out=refused: format did not finish", 1), false, nil},
		{"plain key gone, disk unchanged", strings.Replace(good, "pk blob=ok", "pk blob=absent", 1), false, nil},
		{"plain key gone, disk changed", strings.Replace(good, "pk blob=ok", "pk blob=absent", 1), true, []string{"plain volume's disk changed"}},
		{"partial blob", strings.Replace(good, "aaaa:ok", "aaaa:bad", 1), false, []string{"not a complete blob"}},
		{"header's blob not in the key directory", strings.Replace(good, "fp=bbbb", "fp=cccc", 1), false, []string{"in no complete blob file"}},
		{"wrong key", strings.Replace(good, "cv open=0 fsck=0 fp=bbbb out=", "cv open=5 fsck=- fp=- out=wrong key", 1), false, []string{"wrong key"}},
		{"dirty volume", strings.Replace(good, "fsck=0 fp", "fsck=4 fp", 1), false, []string{"e2fsck -fn exit 4"}},
		{"key file system damaged", strings.Replace(good, "keyfs fsck=1", "keyfs fsck=4", 1), false, []string{"e2fsck -p exit 4"}},
		{"key file system gone", "@@KD keyfs fsck=8 mount=failed\n", false, []string{"exit 8", "does not mount"}},
		{"no output", "", false, []string{"no check"}},
	}
	for _, c := range cases {
		got := kdVerdict(c.out, c.changed)
		if len(got) != len(c.want) {
			t.Errorf("%s: %q, want %d problems %q", c.name, got, len(c.want), c.want)
			continue
		}
		for i, w := range c.want {
			if !strings.Contains(got[i], w) {
				t.Errorf("%s: problem %q, want it to say %q", c.name, got[i], w)
			}
		}
	}
}
