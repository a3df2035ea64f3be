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

	"github.com/caamcrypt/caamcrypt/test/vm/logwrites"
)

// TestCrashStates records every write and flush that caamcrypt's commands
// send to the key file system's disk and to a volume's device, through
// dm-log-writes targets in the guest, then rebuilds the disks as a power
// cut would have left them at every flush point and at sampled points in
// between (unflushed writes dropped and reordered, seeded), and checks at
// each crash state:
//
//   - key files: every key and blob file is the old one or the complete
//     new one, never partial, never neither, and a new black key is never
//     on disk with the old blob (host: e2fsck recovers the journal,
//     debugfs reads the key directory);
//   - header: at least one copy validates and holds the old or the new
//     header (host, with package header);
//   - volume: in a guest with the CAAM simulator, caamcrypt opens the
//     replayed volume with its key, its file system checks clean after
//     journal recovery (e2fsck -p, then -fn), and it is never refused as
//     "wrong key" (exit 5); an unfinished format may be refused by name.
//
// Operations are rows of crashOps; a new command is one row. The figures
// go to stdout as @@RELIABILITY lines (test/reliability makes the table).
// CAAMCRYPT_RELIABILITY=long samples many more states (make reliability);
// the short version bounds the guest checks to a few minutes.
func TestCrashStates(t *testing.T) {
	long := os.Getenv("CAAMCRYPT_RELIABILITY") == "long"
	seed := crashSeed()
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		// The udev flavour (systemd-udevd probing every new mapping while
		// caamcrypt works) replays the volume operations, sampled more
		// thinly in the short run; the long run replays every operation
		// with the full counts in both flavours.
		ops, samples, guestCap := crashOps, 12, 45
		if f == Udev && !long {
			ops, samples, guestCap = crashOpsNamed("format", "open-write-close"), 6, 12
		}
		if long {
			samples, guestCap = 1500, 200
		}
		samples = crashKnob("CAAMCRYPT_CRASH_SAMPLES", samples, 0)
		guestCap = crashKnob("CAAMCRYPT_CRASH_GUEST", guestCap, 3)
		crashStates(t, f, ops, samples, guestCap, seed)
	})
}

// crashStates records ops in one guest of flavour f and replays them (see
// TestCrashStates).
func crashStates(t *testing.T, flavour Flavour, ops []crashOp, samples, guestCap int, seed int64) {
	t.Logf("crash states (%s): seed %d, %d samples per operation, at most %d volume states opened in the guest", flavour, seed, samples, guestCap)
	start := time.Now()

	const volMiB = 16
	disks := []DiskSpec{
		{Name: "keys", SizeMiB: 16},
		{Name: "vol", SizeMiB: volMiB},
		{Name: "logk", SizeMiB: 256},
		{Name: "logv", SizeMiB: 512},
		{Name: "states", SizeMiB: guestCap * volMiB},
	}
	m := New(t, Config{
		Flavour:      flavour,
		Disks:        disks,
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
		ExtraModules: []Module{CaamsimModule(t, ""), hostKernelModule(t, "dm-log-writes")},
		Timeout:      15 * time.Minute,
	})
	K, V, LK, LV, S := m.GuestDevice("keys"), m.GuestDevice("vol"), m.GuestDevice("logk"), m.GuestDevice("logv"), m.GuestDevice("states")

	// Power-on 1: the key file system with one key, k0, for the
	// operations that replace or import it.
	volRun(t, m, "", []volStep{
		{"mkfs-keys", "mkfs.ext4 -q -L keys " + K + " && mkdir -p /data && mount " + K + " /data && mkdir -m 0700 /data/caam", 0},
		{"k0", "caamcrypt key create k0 && sync && umount /data", 0},
	})
	baseKeys := m.RawDisk(t, "keys")
	baseVol := m.RawDisk(t, "vol")

	// Power-on 2: record every operation between marks on both logs.
	lw := func(name, dev, log string) string {
		return fmt.Sprintf("dmsetup create %s --table \"0 $(blockdev --getsz %s) log-writes %s %s\" && dmsetup mknodes %s", name, dev, dev, log, name)
	}
	steps := []volStep{
		{"log-writes", "mkdir -p /data && " + lw("lwk", K, LK) + " && " + lw("lwv", V, LV) + " && mount /dev/mapper/lwk /data", 0},
	}
	for _, op := range ops {
		run := crashFlushFn
		if op.prep != "" {
			run += op.prep + " && "
		}
		run += fmt.Sprintf("crash_flush && dmsetup message lwk 0 mark %[1]s-start && dmsetup message lwv 0 mark %[1]s-start && "+
			"( %[2]s ) && crash_flush && dmsetup message lwk 0 mark %[1]s-end && dmsetup message lwv 0 mark %[1]s-end", op.name, op.run)
		steps = append(steps, volStep{op.name, run, 0})
	}
	steps = append(steps, volStep{"stop-logging", "umount /data && dmsetup remove lwk && dmsetup remove lwv", 0})
	res := volRun(t, m, "", steps)
	if t.Failed() {
		t.Fatalf("recording failed; console tail:\n%s", res.ConsoleTail(30))
	}
	if keep := os.Getenv("CAAMCRYPT_CRASH_KEEP"); keep != "" {
		// Keep the logs and the starting images to study a violation offline.
		for name, b := range map[string][]byte{"keys.base": baseKeys, "vol.base": baseVol, "logk": m.RawDisk(t, "logk"), "logv": m.RawDisk(t, "logv")} {
			if err := os.WriteFile(keep+"/"+name, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	logK := crashParseLog(t, m, "logk")
	logV := crashParseLog(t, m, "logv")
	t.Logf("logs: key disk %d entries, volume %d entries (recorded in %s)", len(logK.Entries), len(logV.Entries), time.Since(start).Round(time.Second))

	rng := rand.New(rand.NewSource(seed))
	work := t.TempDir()
	// A volume state keeps its recipe, not its 16 MiB image: thousands
	// of states would not fit in memory. Images are rebuilt when the
	// chosen ones are written to the states disk.
	type volState struct {
		op, name string
		log      *logwrites.Log
		start    []byte // the volume at the operation's start (shared)
		st       logwrites.State
		noHeader bool // no valid header copy (the format's old state)
	}
	var guestStates []volState
	viol := map[string]map[string]int{} // op -> invariant -> count
	checked := map[string]int{}
	addViol := func(op, inv, detail string) {
		if viol[op] == nil {
			viol[op] = map[string]int{}
		}
		viol[op][inv]++
		if viol[op][inv] <= 3 {
			t.Errorf("crash state violation: %s: %s (%s)", op, inv, detail)
		}
	}
	volOps := map[string]bool{}
	curK, curV := baseKeys, baseVol
	posK, posV := 0, 0
	for _, op := range ops {
		// Key file system: every state of the window, on the host.
		sK, eK := crashWindow(t, logK, op.name)
		if err := logK.ApplyRange(curK, posK, sK); err != nil {
			t.Fatal(err)
		}
		posK = sK
		statesK := logK.States(sK+1, eK, samples, rng)
		endK, _ := logK.Build(curK, logwrites.State{Name: "end", InOrder: [2]int{sK + 1, eK}})
		before := readKeyFS(t, curK, work, "/caam").files
		after := readKeyFS(t, endK, work, "/caam").files
		seen := map[[32]byte]bool{}
		for _, st := range statesK {
			img, err := logK.Build(curK, st)
			if err != nil {
				t.Fatal(err)
			}
			h := sum256(img)
			if seen[h] {
				continue
			}
			seen[h] = true
			checked[op.name]++
			fs := readKeyFS(t, img, work, "/caam")
			if !fs.clean {
				addViol(op.name, "keyfs-unclean", st.Name+": "+fs.fsck)
			}
			for _, v := range keyFileViolations(before, after, fs.files) {
				inv, _, _ := strings.Cut(v, ":")
				addViol(op.name, "key-"+inv, st.Name+": "+v)
			}
		}
		wK, fK := logK.Writes(sK, eK)
		t.Logf("%s: key disk %d writes, %d durable points, %d distinct states", op.name, wK, fK, len(seen))

		// Volume: headers on the host, then opened in the guest.
		sV, eV := crashWindow(t, logV, op.name)
		if err := logV.ApplyRange(curV, posV, sV); err != nil {
			t.Fatal(err)
		}
		posV = sV
		if !op.volume {
			continue
		}
		volOps[op.name] = true
		statesV := logV.States(sV+1, eV, samples, rng)
		startV := append([]byte(nil), curV...)
		endV, _ := logV.Build(curV, logwrites.State{Name: "end", InOrder: [2]int{sV + 1, eV}})
		hb, ha := headerCopies(curV), headerCopies(endV)
		seenV := map[[32]byte]bool{}
		var opStates []volState
		for _, st := range statesV {
			img, err := logV.Build(curV, st)
			if err != nil {
				t.Fatal(err)
			}
			h := sum256(img)
			if seenV[h] {
				continue
			}
			seenV[h] = true
			checked[op.name]++
			hc := headerCopies(img)
			if v := headerVerdict(hb, ha, hc); v != "" {
				addViol(op.name, v, st.Name)
			}
			opStates = append(opStates, volState{op: op.name, name: st.Name, log: logV, start: startV, st: st, noHeader: hc[0] == nil && hc[1] == nil})
		}
		wV, fV := logV.Writes(sV, eV)
		t.Logf("%s: volume %d writes, %d durable points, %d distinct states", op.name, wV, fV, len(seenV))
		// Share the guest's capacity among the volume operations; keep
		// the first and last states and a seeded sample of the rest.
		guestStates = append(guestStates, crashPick(opStates, guestCap/crashVolumeOps(ops), rng, func(s volState) string { return s.name })...)
	}

	// Power-on 3: open every chosen volume state in the guest.
	if len(guestStates) > guestCap {
		guestStates = guestStates[:guestCap]
	}
	f, err := os.OpenFile(m.DiskPath("states"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range guestStates {
		img, err := s.log.Build(s.start, s.st)
		if err != nil {
			t.Fatal(err)
		}
		crashWriteSparse(t, f, int64(i)*volMiB<<20, img)
	}
	f.Close()
	var script strings.Builder
	fmt.Fprintf(&script, "for i in $(seq 0 %d); do\n", len(guestStates)-1)
	fmt.Fprintf(&script, "  dmsetup create st --table \"0 %d linear %s $((i * %d))\" && dmsetup mknodes st || { echo \"@@ST $i setup-failed\"; continue; }\n", volMiB<<11, S, volMiB<<11)
	script.WriteString(`  out=$(timeout 120 caamcrypt open /dev/mapper/st --name cs 2>&1); o=$?
  p=-; n=-
  if [ $o = 0 ]; then
    timeout 120 e2fsck -p /dev/mapper/cs >/dev/null 2>&1; p=$?
    timeout 120 e2fsck -fn /dev/mapper/cs >/dev/null 2>&1; n=$?
    timeout 120 caamcrypt close cs >/dev/null 2>&1 || echo "@@ST $i close-failed"
  fi
  echo "@@ST $i open=$o fsckp=$p fsckn=$n out=$(echo "$out" | tail -n 2 | tr '\n' ' ')"
  dmsetup remove st || echo "@@ST $i remove-failed"
done
`)
	gstart := time.Now()
	res = volRun(t, m, "", []volStep{{"open-states", script.String(), 0}})
	lines := map[int]string{}
	for _, l := range strings.Split(volOut(res, "open-states"), "\n") {
		if rest, ok := strings.CutPrefix(l, "@@ST "); ok {
			n, tail, _ := strings.Cut(rest, " ")
			i, _ := strconv.Atoi(n)
			if strings.HasPrefix(tail, "open=") {
				lines[i] = tail
			} else {
				addViol(guestStates[i].op, "guest-"+tail, guestStates[i].name)
			}
		}
	}
	opened := map[string]int{}
	for i, s := range guestStates {
		l, ok := lines[i]
		if !ok {
			addViol(s.op, "not-checked", s.name)
			continue
		}
		opened[s.op]++
		var o, p, n string
		fmt.Sscanf(l, "open=%s fsckp=%s fsckn=%s", &o, &p, &n)
		_, out, _ := strings.Cut(l, "out=")
		switch {
		case o == "0" && (p == "0" || p == "1") && n == "0":
		case o == "0":
			addViol(s.op, "fs-unclean", fmt.Sprintf("%s: e2fsck -p %s, -fn %s", s.name, p, n))
		case o == "5":
			addViol(s.op, "wrong-key", s.name+": "+out)
		case s.noHeader:
			// Not a volume yet: the format's old state.
		case strings.Contains(out, "did not finish") || strings.Contains(out, "unfinished"):
			// An interrupted format named as such.
		default:
			addViol(s.op, "open-failed", fmt.Sprintf("%s: exit %s: %s", s.name, o, out))
		}
	}
	t.Logf("guest opened %d volume states in %s", len(guestStates), time.Since(gstart).Round(time.Second))

	// Each flavour has its own rows; the udev rows carry the flavour.
	kase := func(op string) string {
		if flavour == Udev {
			return op + " (udev)"
		}
		return op
	}
	total, bad := 0, 0
	for _, op := range ops {
		nb := 0
		invs := make([]string, 0, len(viol[op.name]))
		for inv, c := range viol[op.name] {
			nb += c
			invs = append(invs, inv)
		}
		sort.Strings(invs)
		for _, inv := range invs {
			reliabilityLine("crash-violations", kase(op.name)+": "+inv, checked[op.name], viol[op.name][inv])
		}
		reliabilityLine("crash-states", kase(op.name), checked[op.name], nb)
		if volOps[op.name] {
			reliabilityLine("crash-volumes-opened", kase(op.name), opened[op.name], viol[op.name]["wrong-key"]+viol[op.name]["fs-unclean"]+viol[op.name]["open-failed"])
		}
		t.Logf("%s: %d crash states checked, %d violations %v", op.name, checked[op.name], nb, viol[op.name])
		total += checked[op.name]
		bad += nb
	}
	t.Logf("crash states: %d checked, %d violations, %s in all", total, bad, time.Since(start).Round(time.Second))
}

// crashOp is one recorded operation. The key file system is mounted at
// /data (key directory /data/caam) through the log-writes device lwk; the
// volume device is /dev/mapper/lwv. prep runs before the start mark.
type crashOp struct {
	name   string
	prep   string
	run    string
	volume bool // writes the volume device: replay and open its states too
}

var crashOps = []crashOp{
	{name: "key-create", run: "caamcrypt key create k1"},
	{name: "key-create-force", run: "caamcrypt key create k0 --force"},
	{name: "key-import", run: "caamcrypt key import /data/caam/k1.bb k2"},
	{name: "format", run: "caamcrypt format /dev/mapper/lwv --name cv --label cv && caamcrypt close cv", volume: true},
	{name: "open-write-close", volume: true, run: "caamcrypt open /dev/mapper/lwv --name cv --mount /mnt/v && " +
		"dd if=/dev/urandom of=/mnt/v/data bs=64k count=8 2>/dev/null && echo one > /mnt/v/a && sync && " +
		"mkdir /mnt/v/d && echo two > /mnt/v/d/b && mv /mnt/v/a /mnt/v/d/a && caamcrypt close cv"},
	{name: "header-restore", volume: true,
		prep: "caamcrypt header backup /dev/mapper/lwv /tmp/hb && " + volFlipByte("/dev/mapper/lwv", 200),
		run:  "caamcrypt header restore /dev/mapper/lwv /tmp/hb"},
}

// crashFlushFn defines crash_flush: write back everything and send a flush
// to both logged devices. dm-log-writes logs a completed write only when a
// flush follows it, so without the flush a write made before a start mark
// (e.g. a page-cache write back by sync, which flushes nothing on a bare
// block device) would be logged inside the next operation's window.
// busybox dd with conv=fsync and no data fsyncs the device: a flush.
const crashFlushFn = "crash_flush() { sync && for d in lwk lwv; do dd if=/dev/zero of=/dev/mapper/$d bs=512 count=0 conv=notrunc,fsync 2>/dev/null || return 1; done; }\n"

// crashOpsNamed returns the rows of crashOps with these names, in order.
func crashOpsNamed(names ...string) []crashOp {
	var out []crashOp
	for _, op := range crashOps {
		for _, n := range names {
			if op.name == n {
				out = append(out, op)
			}
		}
	}
	return out
}

func crashVolumeOps(ops []crashOp) int {
	n := 0
	for _, op := range ops {
		if op.volume {
			n++
		}
	}
	return n
}

func crashParseLog(t *testing.T, m *Machine, disk string) *logwrites.Log {
	t.Helper()
	f, err := os.Open(m.DiskPath(disk))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := logwrites.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", disk, err)
	}
	return l
}

// crashWindow returns the log positions of an operation's start and end marks.
func crashWindow(t *testing.T, l *logwrites.Log, op string) (int, int) {
	t.Helper()
	s, err := l.FindMark(op + "-start")
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.FindMark(op + "-end")
	if err != nil {
		t.Fatal(err)
	}
	return s, e
}

// crashPick keeps at most n of states: the first and the last, and a
// seeded random choice of the others, in their original order.
func crashPick[T any](states []T, n int, rng *rand.Rand, _ func(T) string) []T {
	if len(states) <= n || n < 2 {
		return states
	}
	idx := rng.Perm(len(states) - 2)[:n-2]
	sort.Ints(idx)
	out := []T{states[0]}
	for _, i := range idx {
		out = append(out, states[i+1])
	}
	return append(out, states[len(states)-1])
}

// crashWriteSparse writes img at off, skipping all-zero 64 KiB blocks so
// the states disk stays sparse.
func crashWriteSparse(t *testing.T, f *os.File, off int64, img []byte) {
	t.Helper()
	const blk = 64 << 10
	zero := make([]byte, blk)
	for i := 0; i < len(img); i += blk {
		b := img[i:min(i+blk, len(img))]
		if bytes.Equal(b, zero[:len(b)]) {
			continue
		}
		if _, err := f.WriteAt(b, off+int64(i)); err != nil {
			t.Fatal(err)
		}
	}
}
