package vm

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/test/vm/logwrites"
)

// TestCrashStatesJoint replays crash states of the key directory's disk and
// the volume together. TestCrashStates logs each disk on its own, so it
// cannot tell which state of one disk goes with which state of the other;
// here both live on one disk (the key file system in its first half, the
// volume in its second, as two partitions of a board's eMMC), under one
// dm-log-writes target, so the log holds every write and flush of both in
// the one order the disk saw them, and a crash state is one cut of that
// log: a single point in time for both (plus, between flushes, any subset
// of the unflushed writes of either, reordered, as TestCrashStates does).
//
// At each state the checks of TestCrashStates apply to each half (key
// files old or complete new, never partial or missing; a header copy old
// or new), plus the joint ones:
//
//   - a finished header whose blob belongs to the key directory before or
//     after the operation (format --save-key, format --key) finds that blob
//     in a key or blob file of the state's key directory, and it imports
//     in the guest; an unfinished header is the format saying it could not
//     finish, and open must say so;
//   - a plain volume's key lives only in the key directory: once the
//     volume has changed, its blob is on the key disk, complete;
//   - operations on keys alone leave the volume as it was;
//   - opened in the guest with the state's key file system mounted as the
//     key directory, the volume opens and its file system checks clean, or
//     is refused with "format did not finish", never "wrong key".
//
// Figures: @@RELIABILITY|crash-joint|<op>|<states>|<violations> and the
// guest's opens under crash-volumes-opened ("joint <op>").
// The udev flavour runs with CAAMCRYPT_RELIABILITY=long only.
func TestCrashStatesJoint(t *testing.T) {
	long := os.Getenv("CAAMCRYPT_RELIABILITY") == "long"
	samples, guestCap := 12, 12
	if long {
		samples, guestCap = 1500, 120
	}
	samples = crashKnob("CAAMCRYPT_CRASH_SAMPLES", samples, 0)
	guestCap = crashKnob("CAAMCRYPT_CRASH_GUEST", guestCap, 3)
	seed := crashSeed()
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		if f == Udev && !long {
			t.Skip("udev flavour only with CAAMCRYPT_RELIABILITY=long (TestCrashStates replays format and open under udev)")
		}
		crashJoint(t, f, samples, guestCap, seed)
	})
}

// crashJointOp is one recorded operation of TestCrashStatesJoint. The key
// file system is mounted at /data (key directory /data/caam) from
// /dev/mapper/uk; the volume device is /dev/mapper/uv.
type crashJointOp struct {
	name string
	run  string
	key  string // the key the volume is bound to ("" for key-only operations)
	// volume: run writes a caamcrypt volume on uv; plain: a plain volume
	// whose only key is key's blob in the key directory.
	volume, plain bool
}

var crashJointOps = []crashJointOp{
	{name: "key-create", run: "caamcrypt key create k1"},
	{name: "key-create-force", run: "caamcrypt key create k0 --force"},
	{name: "key-import", run: "caamcrypt key import /data/caam/k1.bb k2"},
	{name: "format-save-key", key: "cv", volume: true,
		run: "caamcrypt format /dev/mapper/uv --name cv --label cv --save-key && caamcrypt close cv"},
	{name: "key-create-force.format-key", key: "cv", volume: true,
		run: "caamcrypt key create cv --force && caamcrypt format /dev/mapper/uv --name cv --label cv --key cv --force && caamcrypt close cv"},
	{name: "key-create.format-plain", key: "pk", plain: true,
		run: "caamcrypt key create pk && caamcrypt format /dev/mapper/uv --type plain --key pk --name pv --force && caamcrypt close pv"},
}

// The one disk's halves, in MiB and 512-byte sectors.
const (
	jointHalfMiB = 16
	jointHalfSec = jointHalfMiB << 11
)

// crashJointFlushFn defines joint_flush: write back everything and flush
// both halves, so no write of an operation lands in the next one's window
// (see crashFlushFn).
const crashJointFlushFn = "joint_flush() { sync && for d in uk uv; do dd if=/dev/zero of=/dev/mapper/$d bs=512 count=0 conv=notrunc,fsync 2>/dev/null || return 1; done; }\n"

func crashJoint(t *testing.T, flavour Flavour, samples, guestCap int, seed int64) {
	t.Logf("joint crash states (%s): seed %d, %d samples per operation, at most %d states opened in the guest", flavour, seed, samples, guestCap)
	start := time.Now()
	const slotMiB = 2 * jointHalfMiB
	m := New(t, Config{
		Flavour: flavour,
		Disks: []DiskSpec{
			{Name: "both", SizeMiB: slotMiB},
			{Name: "log", SizeMiB: 768},
			{Name: "states", SizeMiB: guestCap * slotMiB},
		},
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
		ExtraModules: []Module{CaamsimModule(t, ""), hostKernelModule(t, "dm-log-writes")},
		Timeout:      15 * time.Minute,
	})
	B, L, S := m.GuestDevice("both"), m.GuestDevice("log"), m.GuestDevice("states")
	halves := func(under string) string {
		return fmt.Sprintf("dmsetup create uk --table \"0 %d linear %s 0\" && dmsetup create uv --table \"0 %d linear %s %d\" && dmsetup mknodes",
			jointHalfSec, under, jointHalfSec, under, jointHalfSec)
	}

	// Power-on 1: the key file system with one key, k0.
	volRun(t, m, "", []volStep{
		{"mkfs-keys", halves(B) + " && mkfs.ext4 -q -L keys /dev/mapper/uk && mkdir -p /data && mount /dev/mapper/uk /data && mkdir -m 0700 /data/caam", 0},
		{"k0", "caamcrypt key create k0 && sync && umount /data && dmsetup remove uv && dmsetup remove uk", 0},
	})
	base := m.RawDisk(t, "both")

	// Power-on 2: one log-writes target under both halves.
	steps := []volStep{{"log-writes", fmt.Sprintf("mkdir -p /data && dmsetup create lwc --table \"0 %d log-writes %s %s\" && dmsetup mknodes lwc && ", 2*jointHalfSec, B, L) +
		halves("/dev/mapper/lwc") + " && mount /dev/mapper/uk /data", 0}}
	for _, op := range crashJointOps {
		steps = append(steps, volStep{op.name, crashJointFlushFn + fmt.Sprintf("joint_flush && dmsetup message lwc 0 mark %[1]s-start && "+
			"( %[2]s ) && joint_flush && dmsetup message lwc 0 mark %[1]s-end", op.name, op.run), 0})
	}
	steps = append(steps, volStep{"stop-logging", "umount /data && dmsetup remove uv && dmsetup remove uk && dmsetup remove lwc", 0})
	res := volRun(t, m, "", steps)
	if t.Failed() {
		t.Fatalf("recording failed; console tail:\n%s", res.ConsoleTail(30))
	}
	if keep := os.Getenv("CAAMCRYPT_CRASH_KEEP"); keep != "" {
		for name, b := range map[string][]byte{"both.base": base, "log": m.RawDisk(t, "log")} {
			if err := os.WriteFile(keep+"/joint-"+string(flavour)+"-"+name, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	lg := crashParseLog(t, m, "log")
	t.Logf("log: %d entries (recorded in %s)", len(lg.Entries), time.Since(start).Round(time.Second))

	rng := rand.New(rand.NewSource(seed))
	work := t.TempDir()
	half := jointHalfMiB << 20
	// Key file systems and header copies seen before, by content: the key
	// half stays the same over most states of a format.
	keyCache := map[[32]byte]keyFS{}
	readKeys := func(img []byte) keyFS {
		h := sum256(img)
		if fs, ok := keyCache[h]; ok {
			return fs
		}
		fs := readKeyFS(t, img, work, "/caam")
		keyCache[h] = fs
		return fs
	}
	type jointState struct {
		op       *crashJointOp
		name     string
		start    []byte
		st       logwrites.State
		noHeader bool
		importOK bool // a finished header's blob is the state's <key>.bb: it must import
	}
	var guest []jointState
	viol := map[string]map[string]int{}
	checked, bound := map[string]int{}, map[string]int{}
	addViol := func(op, inv, detail string) {
		if viol[op] == nil {
			viol[op] = map[string]int{}
		}
		viol[op][inv]++
		if viol[op][inv] <= 3 {
			t.Errorf("joint crash state violation: %s: %s (%s)", op, inv, detail)
		}
	}
	cur, pos := base, 0
	volumeOps := 0
	for i := range crashJointOps {
		if crashJointOps[i].volume {
			volumeOps++
		}
	}
	for i := range crashJointOps {
		op := &crashJointOps[i]
		s, e := crashWindow(t, lg, op.name)
		if err := lg.ApplyRange(cur, pos, s); err != nil {
			t.Fatal(err)
		}
		pos = s
		startImg := append([]byte(nil), cur...)
		endImg, err := lg.Build(cur, logwrites.State{Name: "end", InOrder: [2]int{s + 1, e}})
		if err != nil {
			t.Fatal(err)
		}
		before, after := readKeys(startImg[:half]).files, readKeys(endImg[:half]).files
		hb, ha := headerCopies(startImg[half:]), headerCopies(endImg[half:])
		seen := map[[32]byte]bool{}
		var opStates []jointState
		for _, st := range lg.States(s+1, e, samples, rng) {
			img, err := lg.Build(cur, st)
			if err != nil {
				t.Fatal(err)
			}
			h := sum256(img)
			if seen[h] {
				continue
			}
			seen[h] = true
			checked[op.name]++
			kimg, vimg := img[:half], img[half:]
			fs := readKeys(kimg)
			if !fs.clean {
				addViol(op.name, "keyfs-unclean", st.Name+": "+fs.fsck)
			}
			for _, v := range keyFileViolations(before, after, fs.files) {
				inv, _, _ := strings.Cut(v, ":")
				addViol(op.name, "key-"+inv, st.Name+": "+v)
			}
			js := jointState{op: op, name: st.Name, start: startImg, st: st}
			switch {
			case op.volume:
				hc := headerCopies(vimg)
				if v := headerVerdict(hb, ha, hc); v != "" {
					addViol(op.name, v, st.Name)
				}
				js.noHeader = hc[0] == nil && hc[1] == nil
				bad, importOK := jointBlobVerdict(before, after, fs.files, hc, op.key)
				if bad != "" {
					addViol(op.name, "joint-"+bad, st.Name)
				}
				js.importOK = importOK
				if importOK {
					bound[op.name]++
				}
				opStates = append(opStates, js)
			case op.plain:
				if !bytes.Equal(vimg, startImg[half:]) {
					if v := jointPlainVerdict(after, fs.files, op.key); v != "" {
						addViol(op.name, "joint-"+v, st.Name)
					}
				}
			default:
				if !bytes.Equal(vimg, startImg[half:]) {
					addViol(op.name, "joint-volume-changed", st.Name)
				}
			}
		}
		w, fl := lg.Writes(s, e)
		t.Logf("%s: %d writes, %d durable points, %d distinct joint states (%d with a finished header whose blob is %s.bb)",
			op.name, w, fl, len(seen), bound[op.name], op.key)
		if op.volume {
			guest = append(guest, crashPick(opStates, guestCap/volumeOps, rng, func(s jointState) string { return s.name })...)
		}
	}

	// Power-on 3: open the chosen states with their key file systems.
	if len(guest) > guestCap {
		guest = guest[:guestCap]
	}
	f, err := os.OpenFile(m.DiskPath("states"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range guest {
		img, err := lg.Build(s.start, s.st)
		if err != nil {
			t.Fatal(err)
		}
		crashWriteSparse(t, f, int64(i)*slotMiB<<20, img)
	}
	f.Close()
	var script strings.Builder
	script.WriteString("mkdir -p /data\nfor spec in")
	for i, s := range guest {
		imp := 0
		if s.importOK {
			imp = 1
		}
		fmt.Fprintf(&script, " %d:%s:%d", i, s.op.key, imp)
	}
	fmt.Fprintf(&script, `; do
  i=${spec%%%%:*}; rest=${spec#*:}; key=${rest%%:*}; imp=${rest#*:}
  b=$((i * %[1]d))
  dmsetup create sk --table "0 %[2]d linear %[3]s $b" && dmsetup create sv --table "0 %[2]d linear %[3]s $((b + %[2]d))" && dmsetup mknodes || { echo "@@ST $i setup-failed"; continue; }
  if mount /dev/mapper/sk /data; then
    out=$(timeout 120 caamcrypt open /dev/mapper/sv --name cs 2>&1); o=$?
    p=-; n=-; m=-
    if [ $o = 0 ]; then
      timeout 120 e2fsck -p /dev/mapper/cs >/dev/null 2>&1; p=$?
      timeout 120 e2fsck -fn /dev/mapper/cs >/dev/null 2>&1; n=$?
      timeout 120 caamcrypt close cs >/dev/null 2>&1 || echo "@@ST $i close-failed"
    fi
    if [ $imp = 1 ]; then timeout 120 caamcrypt key import /data/caam/$key.bb ji --force >/dev/null 2>&1; m=$?; fi
    echo "@@ST $i open=$o fsckp=$p fsckn=$n import=$m out=$(echo "$out" | tail -n 2 | tr '\n' ' ')"
    umount /data || echo "@@ST $i umount-failed"
  else
    echo "@@ST $i keyfs-mount-failed"
  fi
  dmsetup remove sv; dmsetup remove sk || echo "@@ST $i remove-failed"
done
`, 2*jointHalfSec, jointHalfSec, S)
	gstart := time.Now()
	res = volRun(t, m, "", []volStep{{"open-states", script.String(), 0}})
	lines := map[int]string{}
	for _, l := range strings.Split(volOut(res, "open-states"), "\n") {
		if rest, ok := strings.CutPrefix(l, "@@ST "); ok {
			n, tail, _ := strings.Cut(rest, " ")
			i, err := strconv.Atoi(n)
			if err != nil || i < 0 || i >= len(guest) {
				t.Errorf("guest line %q", l)
				continue
			}
			if strings.HasPrefix(tail, "open=") {
				lines[i] = tail
			} else {
				addViol(guest[i].op.name, "guest-"+tail, guest[i].name)
			}
		}
	}
	opened, failed, imported := map[string]int{}, map[string]int{}, 0
	for i, s := range guest {
		l, ok := lines[i]
		if !ok {
			addViol(s.op.name, "not-checked", s.name)
			failed[s.op.name]++
			continue
		}
		opened[s.op.name]++
		var o, p, n, imp string
		fmt.Sscanf(l, "open=%s fsckp=%s fsckn=%s import=%s", &o, &p, &n, &imp)
		_, out, _ := strings.Cut(l, "out=")
		if imp == "0" {
			imported++
		}
		if v := jointGuestVerdict(o, p, n, imp, out, s.noHeader, s.importOK); v != "" {
			addViol(s.op.name, v, fmt.Sprintf("%s: %s", s.name, l))
			failed[s.op.name]++
		}
	}
	t.Logf("guest opened %d joint states (%d key blobs imported from the state's key directory) in %s", len(guest), imported, time.Since(gstart).Round(time.Second))

	kase := func(op string) string {
		if flavour == Udev {
			return op + " (udev)"
		}
		return op
	}
	total, bad := 0, 0
	for _, op := range crashJointOps {
		nb := 0
		invs := make([]string, 0, len(viol[op.name]))
		for inv, c := range viol[op.name] {
			nb += c
			invs = append(invs, inv)
		}
		sort.Strings(invs)
		for _, inv := range invs {
			reliabilityLine("crash-violations", "joint "+kase(op.name)+": "+inv, checked[op.name], viol[op.name][inv])
		}
		reliabilityLine("crash-joint", kase(op.name), checked[op.name], nb)
		if op.volume {
			reliabilityLine("crash-volumes-opened", "joint "+kase(op.name), opened[op.name], failed[op.name])
		}
		t.Logf("%s: %d joint crash states checked, %d violations %v", op.name, checked[op.name], nb, viol[op.name])
		total += checked[op.name]
		bad += nb
	}
	t.Logf("joint crash states: %d checked, %d violations, %s in all", total, bad, time.Since(start).Round(time.Second))
}

// jointBlobVerdict is the joint invariant of a caamcrypt volume bound to
// key: every valid, finished header copy of the state whose blob the key
// directory holds before or after the operation (under a name it has then)
// finds that blob in a file of the same name set in the state's key
// directory. It also reports whether the state's key.bb is the blob of a
// finished header copy (so the guest must be able to import it).
func jointBlobVerdict(before, after, state map[string][]byte, hc [2][]byte, key string) (bad string, importOK bool) {
	names := map[string]bool{}
	for n := range before {
		names[n] = true
	}
	for n := range after {
		names[n] = true
	}
	holds := func(files map[string][]byte, blob []byte) bool {
		for n, b := range files {
			if names[n] && bytes.Equal(b, blob) {
				return true
			}
		}
		return false
	}
	for _, c := range hc {
		if c == nil {
			continue
		}
		h, err := header.Unmarshal(c)
		if err != nil || h.Unfinished() {
			continue // an unfinished format: open must name it (guest check)
		}
		if !holds(before, h.Blob) && !holds(after, h.Blob) {
			continue // not a blob of this key directory
		}
		if !holds(state, h.Blob) {
			return "blob-missing", false
		}
		if bytes.Equal(state[key+".bb"], h.Blob) {
			importOK = true
		}
	}
	return "", importOK
}

// jointPlainVerdict: a plain volume that changed needs its key's blob on
// the key disk, the complete new one.
func jointPlainVerdict(after, state map[string][]byte, key string) string {
	want, ok := after[key+".bb"]
	if !ok {
		return "" // the operation made no such blob: nothing to hold it to
	}
	got, ok := state[key+".bb"]
	switch {
	case !ok:
		return "plain-blob-missing"
	case !bytes.Equal(got, want):
		return "plain-blob-partial"
	}
	return ""
}

// jointGuestVerdict judges the guest's open of one joint state: open exit
// o, e2fsck -p and -fn exits p and n, the key import's exit imp ("-" when
// not tried), the last lines of open's output.
func jointGuestVerdict(o, p, n, imp, out string, noHeader, importOK bool) string {
	if importOK && imp != "0" {
		return "joint-import-failed"
	}
	switch {
	case o == "0" && (p == "0" || p == "1") && n == "0":
		return ""
	case o == "0":
		return "fs-unclean"
	case o == "5":
		return "wrong-key"
	case noHeader:
		return "" // not a volume yet: the format's old state
	case strings.Contains(out, "did not finish") || strings.Contains(out, "unfinished"):
		return ""
	}
	return "open-failed"
}
