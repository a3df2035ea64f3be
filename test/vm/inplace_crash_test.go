package vm

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/test/vm/fsfixture"
	"github.com/caamcrypt/caamcrypt/test/vm/logwrites"
)

// TestInplaceCrashStates records `caamcrypt encrypt`, `reencrypt` and
// `decrypt` of a populated ext4 (fsfixture) under dm-log-writes, one after
// the other on the same device, rebuilds the device at every flush point
// and at seeded points between flushes with unflushed writes dropped and
// reordered (package logwrites, as TestCrashStates), and checks each
// crash state in a guest with the CAAM simulator:
//
//  1. as the crash left it, other tools never take it for something it is
//     not: `caamcrypt open` never says "wrong key" (nor exit 5), nor, in
//     the middle of the work, "no caamcrypt header"; when open succeeds,
//     every file reads back right through it; a mount of the raw device
//     either fails or shows the complete, correct file system (a half-moved
//     one must not mount); in the middle of the work `caamcrypt format`
//     without --force and the opposite command (decrypt during encrypt and
//     reencrypt, encrypt during decrypt) refuse;
//  2. re-running the same command (the resume issue 12 names) brings the
//     device to the operation's end form: a volume that opens (encrypt,
//     reencrypt) or the plain file system (decrypt), e2fsck -f -n clean and
//     every file's type, mode, owner, size, mtime and SHA-256 (or link
//     target) equal to the fixture's manifest; after decrypt also the
//     xattrs (debugfs on the host);
//  3. nothing is left behind: the state's device can be removed.
//
// A state is "in the middle" when its bytes differ from both the device
// before and after the operation. The copy-into-volume row runs the same
// harness over the existing format/open (the fixture copied into a volume
// in flushed 1 MiB chunks; resumed by copying again), so the rig is proven
// even where the in-place commands are absent.
//
// Figures: @@RELIABILITY|inplace-crash|<op>|<states checked>|<states with a
// violation> and one inplace-crash-violations line per invariant broken.
// Short (make test): 4 states per operation (the first and last flush-point
// states in the middle, a seeded other one, the finished one), 2 for the
// copy row when the in-place rows run;
// CAAMCRYPT_RELIABILITY=long: every distinct flush-point state and 40
// sampled ones per operation. CAAMCRYPT_INPLACE_STATES=N sets the states
// checked per operation, CAAMCRYPT_CRASH_SAMPLES the sampled ones
// considered, CAAMCRYPT_CRASH_SEED the seed, CAAMCRYPT_INPLACE_ONLY=OP
// checks only OP's states (to study one operation).
func TestInplaceCrashStates(t *testing.T) {
	long := os.Getenv("CAAMCRYPT_RELIABILITY") == "long"
	perOp, samples := 4, 8
	if long {
		perOp, samples = 0, 40 // 0: every state
	}
	perOp = crashKnob("CAAMCRYPT_INPLACE_STATES", perOp, 0)
	samples = crashKnob("CAAMCRYPT_CRASH_SAMPLES", samples, 0)
	only := os.Getenv("CAAMCRYPT_INPLACE_ONLY") // check one operation's states (all are recorded)
	seed := crashSeed()
	start := time.Now()
	bin := MustBuildGo(t, "./cmd/caamcrypt")
	ops := append(ipOpsAvailable(t, bin), ipCopy)
	if len(ops) == 1 {
		perOp = max(perOp, 3)
	}
	fx := ipMakeFixture(t, fsfixture.Short(seed), 32, 24)
	const batch = 20 // states per checking boot
	volMiB := fx.devMiB
	files := fx.files()
	files["/etc/caamcrypt-test/ops.sh"] = []byte(ipOpsScript(ops, fx.fsMiB))
	m := New(t, Config{
		Flavour: NoUdev,
		Disks: []DiskSpec{
			{Name: "src", SizeMiB: volMiB}, {Name: "vol", SizeMiB: volMiB},
			{Name: "logv", SizeMiB: 1024}, {Name: "states", SizeMiB: batch * volMiB},
		},
		Binaries:     ipBinaries(t, bin),
		Files:        files,
		ExtraModules: []Module{CaamsimModule(t, ""), hostKernelModule(t, "dm-log-writes")},
		Timeout:      20 * time.Minute,
	})
	fx.load(t, m, "src")
	fx.load(t, m, "vol")
	SRC, V, LV, S := m.GuestDevice("src"), m.GuestDevice("vol"), m.GuestDevice("logv"), m.GuestDevice("states")
	lib := ". /etc/caamcrypt-test/inplace.sh; . /etc/caamcrypt-test/ops.sh; IPSRC=" + SRC + "\n"
	base := m.RawDisk(t, "vol")

	// Power-on 1: every operation between marks on the log.
	flush := "ip_flush() { sync && dd if=/dev/zero of=/dev/mapper/lwv bs=512 count=0 conv=notrunc,fsync 2>/dev/null; }\n"
	steps := []volStep{{"log-writes", fmt.Sprintf("dmsetup create lwv --table \"0 $(blockdev --getsz %[1]s) log-writes %[1]s %[2]s\" && dmsetup mknodes lwv", V, LV), 0}}
	for i, op := range ops {
		run := lib + flush
		if op.prep != "" {
			run += fmt.Sprintf("ip_prep_%d /dev/mapper/lwv && ", i)
		}
		run += fmt.Sprintf("ip_flush && dmsetup message lwv 0 mark %[1]s-start && ip_run_%[2]d /dev/mapper/lwv && ip_flush && dmsetup message lwv 0 mark %[1]s-end", op.name, i)
		steps = append(steps, volStep{op.name, run, 0})
	}
	steps = append(steps, volStep{"stop-logging", "dmsetup remove lwv", 0})
	res := volRunTimeout(t, m, ipCmdline, steps, 20*time.Minute)
	if t.Failed() {
		t.Fatalf("recording failed; console tail:\n%s", res.ConsoleTail(30))
	}
	for _, op := range ops {
		if s := res.Step(op.name); s != nil {
			t.Logf("recorded %s in %s", op.name, s.Duration.Round(100*time.Millisecond))
		}
	}
	logV := crashParseLog(t, m, "logv")
	keep := os.Getenv("CAAMCRYPT_CRASH_KEEP")
	if keep != "" {
		// The log and the device before it, to study a violation offline;
		// the states with a violation are kept below.
		if os.WriteFile(filepath.Join(keep, "vol.base"), base, 0o600) != nil || os.WriteFile(filepath.Join(keep, "logv"), m.RawDisk(t, "logv"), 0o600) != nil {
			t.Fatalf("CAAMCRYPT_CRASH_KEEP=%s: cannot write there", keep)
		}
		for _, op := range ops {
			s, e := crashWindow(t, logV, op.name)
			t.Logf("kept: window of %s is log entries %d..%d", op.name, s, e)
		}
	}

	// The states to check, as recipes (a 32 MiB image each is rebuilt
	// when it is written to the states disk).
	rng := rand.New(rand.NewSource(seed))
	var chosen []ipState
	distinct := map[string]int{}
	cur, pos := append([]byte(nil), base...), 0
	for i, op := range ops {
		s, e := crashWindow(t, logV, op.name)
		if err := logV.ApplyRange(cur, pos, s); err != nil {
			t.Fatal(err)
		}
		pos = s
		startImg := append([]byte(nil), cur...)
		endImg, err := logV.Build(cur, logwrites.State{Name: "end", InOrder: [2]int{s + 1, e}})
		if err != nil {
			t.Fatal(err)
		}
		hs, he := sum256(startImg), sum256(endImg)
		seen := map[[32]byte]bool{}
		var mid, edge []ipState
		for _, st := range logV.States(s+1, e, samples, rng) {
			// States shuffles the unflushed writes it keeps; applied in log
			// order instead, a subset gives the end state of every order of
			// non-overlapping writes, and never lets an older write land on
			// a sector after a newer one: the kernel does not write a page
			// again while its first write is in flight, and a disk cache
			// holds the newest data of a sector.
			sort.Ints(st.Extra)
			img, err := logV.Build(startImg, st)
			if err != nil {
				t.Fatal(err)
			}
			h := sum256(img)
			if seen[h] {
				continue
			}
			seen[h] = true
			x := ipState{op: i, name: st.Name, start: startImg, st: st, mid: h != hs && h != he}
			if x.mid {
				mid = append(mid, x)
			} else {
				edge = append(edge, x)
			}
		}
		w, f := logV.Writes(s, e)
		distinct[op.name] = len(seen)
		t.Logf("%s: %d writes, %d durable points, %d distinct crash states (%d in the middle)", op.name, w, f, len(seen), len(mid))
		if only != "" && op.name != only {
			continue
		}
		n := perOp
		if op.name == ipCopy.name && len(ops) > 1 {
			n = 2 // the harness's own row, when the real ones run too
		}
		if n > 0 {
			// The short run: the first and the last flush-point states in
			// the middle (where an operation begins and finishes, and
			// where its bugs showed), a seeded choice of the others
			// (flush points and samples), plus the finished state.
			mid = ipPickMid(mid, max(n-1, 2), rng)
			if len(edge) > 1 {
				edge = edge[len(edge)-1:]
			}
		}
		chosen = append(chosen, mid...)
		chosen = append(chosen, edge...)
	}

	// Check the chosen states, batch by batch.
	checked, bad := map[string]int{}, map[string]int{}
	viol := map[string]map[string]int{}
	addViol := func(op, inv, detail string) {
		if viol[op] == nil {
			viol[op] = map[string]int{}
		}
		viol[op][inv]++
		if viol[op][inv] <= 3 {
			t.Errorf("in-place crash state violation: %s: %s (%s)", op, inv, detail)
		}
	}
	wantX, err := fsfixture.Xattrs(filepath.Join(filepath.Dir(fx.img), "tree"), fx.manifest)
	if err != nil {
		t.Fatal(err)
	}
	sect := volMiB << 11
	for b0 := 0; b0 < len(chosen); b0 += batch {
		part := chosen[b0:min(b0+batch, len(chosen))]
		f, err := os.OpenFile(m.DiskPath("states"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		var script strings.Builder
		script.WriteString(lib + fmt.Sprintf("SECT=%d STATES=%s\n", sect, S))
		for i, s := range part {
			img, err := logV.Build(s.start, s.st)
			if err != nil {
				t.Fatal(err)
			}
			// Every byte, zeros too: the disk holds the previous batch.
			if _, err := f.WriteAt(img, int64(i)*int64(volMiB)<<20); err != nil {
				t.Fatal(err)
			}
			op := ops[s.op]
			mid := 0
			if s.mid {
				mid = 1
			}
			fmt.Fprintf(&script, "ip_check %d %d %s %d\n", i, s.op, op.to, mid)
		}
		f.Close()
		bstart := time.Now()
		res := volRunTimeout(t, m, ipCmdline, []volStep{{"check-states", script.String(), 0}}, time.Duration(len(part))*4*time.Minute+5*time.Minute)
		t.Logf("checked %d crash states in %s", len(part), time.Since(bstart).Round(time.Second))
		lines := map[int]string{}
		for _, l := range strings.Split(volOut(res, "check-states"), "\n") {
			if rest, ok := strings.CutPrefix(l, "@@ST "); ok {
				n, tail, _ := strings.Cut(rest, " ")
				i, _ := strconv.Atoi(n)
				lines[i] = tail
			}
		}
		raw := m.RawDisk(t, "states")
		for i, s := range part {
			op := ops[s.op]
			l, ok := lines[i]
			name := fmt.Sprintf("%s (mid=%v): %s", s.name, s.mid, l)
			checked[op.name]++
			var vs []string
			if !ok {
				vs = append(vs, "not-checked")
			} else {
				vs = ipVerdict(op, s.mid, l)
				if op.to == "plain" && ipField(l, "fx") == "ok" && ipField(l, "fsck") == "0" {
					// The xattrs, which the guest cannot read, on the host.
					img := raw[int64(i)*int64(volMiB)<<20 : int64(i+1)*int64(volMiB)<<20]
					if v := ipXattrCheck(t, img, wantX); v != "" {
						vs = append(vs, "xattr")
						name += " xattr: " + v
					}
				}
			}
			for _, v := range vs {
				addViol(op.name, v, name)
			}
			if len(vs) > 0 {
				bad[op.name]++
				if keep != "" {
					// The state as the crash left it and as the resume left it.
					img, _ := logV.Build(s.start, s.st)
					after := raw[int64(i)*int64(volMiB)<<20 : int64(i+1)*int64(volMiB)<<20]
					base := filepath.Join(keep, op.name+"-"+s.name)
					if os.WriteFile(base+".crash.img", img, 0o600) != nil || os.WriteFile(base+".resumed.img", after, 0o600) != nil {
						t.Errorf("could not keep %s", base)
					}
				}
			}
		}
	}
	total, nbad := 0, 0
	for _, op := range ops {
		invs := make([]string, 0, len(viol[op.name]))
		for inv := range viol[op.name] {
			invs = append(invs, inv)
		}
		sort.Strings(invs)
		for _, inv := range invs {
			reliabilityLine("inplace-crash-violations", op.name+": "+inv, checked[op.name], viol[op.name][inv])
		}
		reliabilityLine("inplace-crash", op.name, checked[op.name], bad[op.name])
		t.Logf("%s: %d of %d distinct crash states checked, %d with a violation %v", op.name, checked[op.name], distinct[op.name], bad[op.name], viol[op.name])
		total += checked[op.name]
		nbad += bad[op.name]
	}
	t.Logf("in-place crash states: %d checked, %d with a violation, %s in all", total, nbad, time.Since(start).Round(time.Second))
}

// ipOpsScript defines, for operation i of ops, ip_prep_i, ip_run_i and
// ip_other_i (each taking the device as $1), ip_copy, and ip_check.
func ipOpsScript(ops []ipOp, fsMiB int) string {
	var b strings.Builder
	b.WriteString(ipCopyFn(fsMiB))
	for i, op := range ops {
		if op.prep != "" {
			fmt.Fprintf(&b, "ip_prep_%d() { %s; }\n", i, op.prep)
		}
		fmt.Fprintf(&b, "ip_run_%d() { %s; }\n", i, op.run)
		if op.other != "" {
			fmt.Fprintf(&b, "ip_other_%d() { %s; }\n", i, op.other)
		}
	}
	b.WriteString(ipCheckFn)
	return b.String()
}

// ipCheckFn: ip_check IDX OP FORM MID checks crash state IDX (at sector
// IDX*SECT of $STATES) of operation OP, whose end form is FORM; MID=1 when
// the state is in the middle of the operation. It prints one line:
// "@@ST IDX open= ofx= raw= rawfx= format= other= resume= fin= fsck= fx=
// rm= omsg=...|rmsg=...".
const ipCheckFn = `
# ip_sub SECONDS FUNCTION DEV runs a function of these files under timeout
# (which only runs programs) in a fresh shell.
ip_sub() { timeout -s KILL $1 sh -c ". /etc/caamcrypt-test/inplace.sh; . /etc/caamcrypt-test/ops.sh; IPSRC=$IPSRC; $2 $3"; }

ip_check() {
	i=$1 op=$2 form=$3 mid=$4 dev=/dev/mapper/st$1
	if ! { dmsetup create st$i --table "0 $SECT linear $STATES $((i * SECT))" && dmsetup mknodes st$i; }; then
		echo "@@ST $i setup=failed"; return
	fi
	# 1. The state as the crash left it, seen by other tools.
	timeout -s KILL 120 caamcrypt open $dev --name cs$i > /tmp/ip.o 2>&1; o=$?
	ofx=-
	if [ $o = 0 ]; then ip_fs /dev/mapper/cs$i > /dev/null; ofx=$FX; timeout -s KILL 60 caamcrypt close cs$i > /dev/null 2>&1; fi
	raw=1 rawfx=-
	mkdir -p /mnt/ipraw
	if mount -o ro $dev /mnt/ipraw 2> /dev/null; then
		raw=0
		if fx_verify /mnt/ipraw ` + ipFixtureManifest + ` > /dev/null; then rawfx=ok; else rawfx=bad; fi
		umount /mnt/ipraw
	fi
	f=- x=-
	if [ $mid = 1 ]; then
		timeout -s KILL 120 caamcrypt format $dev --name fc$i > /dev/null 2>&1; f=$?
		[ $f = 0 ] && caamcrypt close fc$i > /dev/null 2>&1
		# A state whose raw device is the complete, correct file system
		# (e.g. decrypt past its record) may rightly be taken by the other command.
		if [ $rawfx != ok ] && type ip_other_$op > /dev/null 2>&1; then ip_sub 300 ip_other_$op $dev > /dev/null 2>&1 < /dev/null; x=$?; fi
	fi
	# 2. Resume: the same command again, then the end form with every file.
	ip_sub 900 ip_run_$op $dev > /tmp/ip.r 2>&1 < /dev/null; r=$?
	ip_final $form $dev > /dev/null
	# 3. Nothing left holding the device.
	rm=0
	dmsetup remove st$i 2> /dev/null || { rm=1; dmsetup ls; }
	echo "@@ST $i open=$o ofx=$ofx raw=$raw rawfx=$rawfx format=$f other=$x resume=$r fin=$FIN fsck=$K fx=$FX rm=$rm omsg=$(ip_msg < /tmp/ip.o)|rmsg=$(ip_msg < /tmp/ip.r)"
}
`

// ipVerdict lists the invariants a crash state's report breaks (see
// TestInplaceCrashStates).
func ipVerdict(op ipOp, mid bool, l string) []string {
	if ipField(l, "setup") == "failed" {
		return []string{"setup-failed"}
	}
	var v []string
	omsg := ""
	if i := strings.Index(l, "omsg="); i >= 0 {
		omsg, _, _ = strings.Cut(l[i+5:], "|rmsg=")
	}
	o := ipField(l, "open")
	if o == "5" || strings.Contains(omsg, "wrong key") {
		v = append(v, "wrong-key")
	}
	plain := ipField(l, "raw") == "0" && ipField(l, "rawfx") == "ok"
	if mid && !plain && o != "0" && strings.Contains(omsg, "no caamcrypt header") {
		v = append(v, "no-header")
	}
	// The harness's copy row has no transition mark: open shows a
	// partial copy mid-way by design.
	if o == "0" && ipField(l, "ofx") != "ok" && op.name != ipCopy.name {
		v = append(v, "open-shows-wrong-files")
	}
	if ipField(l, "raw") == "0" && ipField(l, "rawfx") != "ok" {
		v = append(v, "raw-mount-of-half-moved")
	}
	if mid && ipField(l, "format") == "0" {
		v = append(v, "format-without-force-accepted")
	}
	if mid && ipField(l, "other") == "0" {
		v = append(v, "other-command-accepted")
	}
	switch {
	case ipField(l, "fin") != "0":
		v = append(v, "end-form-not-reached")
	case ipField(l, "fsck") != "0":
		v = append(v, "fs-unclean")
	case ipField(l, "fx") != "ok":
		v = append(v, "files-differ")
	}
	if ipField(l, "rm") != "0" {
		v = append(v, "left-behind")
	}
	return v
}

// ipXattrCheck reads the fixture's xattrs in a plain ext4 image on the
// host; "" when all are there.
func ipXattrCheck(t *testing.T, img []byte, want map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "state.img")
	if err := os.WriteFile(p, img, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	for path, val := range want {
		got, err := fsfixture.ImageXattr(p, path)
		if err != nil || !strings.Contains(got, val) {
			return fmt.Sprintf("%s: %q %v", path, got, err)
		}
	}
	return ""
}

// ipPickMid keeps at most n of the states in the middle: the first and the
// last at a flush point (not sampled), then a seeded choice of the rest,
// in their original order.
func ipPickMid[T interface{ sampled() bool }](states []T, n int, rng *rand.Rand) []T {
	if len(states) <= n {
		return states
	}
	first, last := -1, -1
	for i, s := range states {
		if !s.sampled() {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	keep := map[int]bool{}
	for _, i := range []int{first, last} {
		if i >= 0 && len(keep) < n {
			keep[i] = true
		}
	}
	for _, i := range rng.Perm(len(states)) {
		if len(keep) >= n {
			break
		}
		keep[i] = true
	}
	var out []T
	for i, s := range states {
		if keep[i] {
			out = append(out, s)
		}
	}
	return out
}

// ipState is a crash state to check, as a recipe: a 32 MiB image each
// is rebuilt when it is written to the states disk.
type ipState struct {
	op    int
	name  string
	start []byte
	st    logwrites.State
	mid   bool
}

func (s ipState) sampled() bool { return strings.HasPrefix(s.name, "sample-") }
