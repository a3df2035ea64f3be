package vm

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// powerCutDisks are the disks the power-cut tests cut under: one with a
// volatile write cache that the cut empties (VolatileCache: unflushed
// writes may be lost) and one that writes through (QEMU's own cache=unsafe:
// every write QEMU accepted outlives the kill). Each is a disk a board may
// have; a state either leaves is one caamcrypt must recover from.
var powerCutDisks = []struct{ test, label, cache string }{
	{"volatile", "volatile cache", VolatileCache},
	{"writethrough", "write-through", "unsafe"},
}

// powerCutsPer is the number of cuts per operation: short, or 20 with
// CAAMCRYPT_RELIABILITY=long; CAAMCRYPT_POWERCUTS=N sets it.
func powerCutsPer(short int) int {
	per := short
	if os.Getenv("CAAMCRYPT_RELIABILITY") == "long" {
		per = 20
	}
	if n, err := strconv.Atoi(os.Getenv("CAAMCRYPT_POWERCUTS")); err == nil && n > 0 {
		per = n
	}
	return per
}

// TestCrashPowerCuts pulls the plug on the whole guest (QEMU killed with
// SIGKILL, see PowerCut for what that does and does not lose) at seeded
// random moments during format, open, close, open --all and application
// writes, then boots again and checks every volume: it opens with its key
// (never "wrong key"), its file system is clean after journal recovery
// (e2fsck -p, then -fn), and its marker file reads back. A format cut short
// may instead be refused by name ("did not finish"). A cut that came after
// the operation had already ended is logged and not counted. It runs once
// with each disk of powerCutDisks.
// Figures: @@RELIABILITY|power-cuts|<operation>, <disk>|<cuts mid-operation>|<volumes lost>.
// CAAMCRYPT_RELIABILITY=long: 20 cuts per operation and disk; otherwise 1;
// CAAMCRYPT_POWERCUTS=N sets the number.
func TestCrashPowerCuts(t *testing.T) {
	per := powerCutsPer(1)
	for _, d := range powerCutDisks {
		t.Run(d.test, func(t *testing.T) { crashPowerCuts(t, per, d.label, d.cache) })
	}
}

func crashPowerCuts(t *testing.T, per int, disk, cache string) {
	disks := []DiskSpec{{Name: "a", SizeMiB: 16}, {Name: "b", SizeMiB: 16}, {Name: "f", SizeMiB: 16}}
	m0 := &Machine{cfg: Config{Disks: disks}}
	A, B, F := m0.GuestDevice("a"), m0.GuestDevice("b"), m0.GuestDevice("f")
	tab := fmt.Sprintf("pa %s - mount=/mnt/a\npb %s - mount=/mnt/b\n", A, B)
	m := New(t, Config{
		Flavour:      NoUdev,
		Disks:        disks,
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
		Files:        map[string][]byte{"/etc/caamtab": []byte(tab), "/etc/pc.sh": []byte(pcLib)},
		ExtraModules: []Module{CaamsimModule(t, "")},
		Timeout:      5 * time.Minute,
		DiskCache:    cache,
	})
	volRun(t, m, "", []volStep{
		{"format-a", "caamcrypt format " + A + " --name pa --label pa --mount /mnt/a && echo marker-a > /mnt/a/m && caamcrypt close pa", 0},
		{"format-b", "caamcrypt format " + B + " --name pb --label pb --mount /mnt/b && echo marker-b > /mnt/b/m && caamcrypt close pb", 0},
		{"format-f", "caamcrypt format " + F + " --name pf --label pf && caamcrypt close pf", 0},
	})
	ops := []pcOp{
		{"format", "", "caamcrypt format " + F + " --force --name pf --label pf && caamcrypt close pf", 5 * time.Second},
		{"open", "", "caamcrypt open " + A + " --name pa --mount /mnt/a", 2 * time.Second},
		{"close", "caamcrypt open " + A + " --name pa --mount /mnt/a && dd if=/dev/urandom of=/mnt/a/c bs=64k count=4 2>/dev/null", "caamcrypt close pa", 1500 * time.Millisecond},
		{"open-all", "", "caamcrypt open --all", 3 * time.Second},
		{"app-writes", "caamcrypt open " + A + " --name pa --mount /mnt/a",
			"for i in $(seq 1 40); do dd if=/dev/urandom of=/mnt/a/w$((i % 5)) bs=16k count=8 2>/dev/null; echo $i >> /mnt/a/log; sync; done", 4 * time.Second},
	}
	pcRun{
		m: m, seed: 20261130, group: "power-cuts", disk: disk, ops: ops,
		check: ". /etc/pc.sh\ncheck " + A + " pa marker-a; check " + B + " pb marker-b; check " + F + " pf -",
		judge: func(out, _ string) (bad []string) {
			for _, vol := range []string{"pa", "pb", "pf"} {
				if why := pcVerdict(out, vol); why != "" {
					bad = append(bad, "volume "+vol+" lost: "+why)
				}
			}
			return bad
		},
	}.run(t, per)
}

// pcVerdict judges one volume's line of the check step: "" when it is fine.
func pcVerdict(out, vol string) string {
	for _, l := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(l, "@@PC "+vol+" ")
		if !ok {
			continue
		}
		var o, p, n, mk string
		fmt.Sscanf(rest, "open=%s fsckp=%s fsckn=%s marker=%s", &o, &p, &n, &mk)
		_, msg, _ := strings.Cut(rest, "out=")
		switch {
		case o == "0" && (p == "0" || p == "1") && n == "0" && mk == "ok":
			return ""
		case o == "0":
			return fmt.Sprintf("opened but e2fsck -p %s, -fn %s, marker %s", p, n, mk)
		case o == "5":
			return "refused as wrong key: " + msg
		case vol == "pf" && (strings.Contains(msg, "did not finish") || strings.Contains(msg, "unfinished")):
			return ""
		default:
			return "open exit " + o + ": " + msg
		}
	}
	return "not checked"
}

// pcLib: check DEV NAME MARKER opens a volume, checks its file system and
// reads its marker ("-": none), prints "@@PC NAME ..." and closes it; an
// unfinished or damaged format target is formatted again so the next cut
// finds a volume.
const pcLib = `
check() {
	out=$(timeout -s KILL 120 caamcrypt open "$1" --name "$2" 2>&1); o=$?
	p=- n=- mk=ok
	if [ $o = 0 ]; then
		timeout -s KILL 120 e2fsck -p /dev/mapper/$2 >/dev/null 2>&1; p=$?
		timeout -s KILL 120 e2fsck -fn /dev/mapper/$2 >/dev/null 2>&1; n=$?
		if [ "$3" != - ]; then
			mkdir -p /mnt/chk && mount -o ro /dev/mapper/$2 /mnt/chk && { [ "$(cat /mnt/chk/m)" = "$3" ] || mk=missing; } && umount /mnt/chk || mk=unmountable
		fi
		caamcrypt close "$2" >/dev/null 2>&1 || echo "close $2 failed"
	fi
	echo "@@PC $2 open=$o fsckp=$p fsckn=$n marker=$mk out=$(echo "$out" | tail -n 2 | tr '\n' ' ')"
	# The format target is formatted again unless it was fine, so a format
	# cut short is counted once, not again after every later cut.
	fine=0; [ $o = 0 ] && [ $n = 0 ] && { [ $p = 0 ] || [ $p = 1 ]; } && fine=1
	if [ $fine = 0 ] && [ "$3" = - ]; then caamcrypt format "$1" --force --name "$2" --label "$2" >/dev/null 2>&1 && caamcrypt close "$2" >/dev/null; fi
	return 0
}
`

// TestCrashPowerCutCacheModes measures what a QEMU kill loses with each disk
// cache mode: the guest writes a marker with O_DIRECT and flushes it, then
// another with O_DIRECT (it reaches the virtio disk, no flush follows) and
// a third through its page cache (never written back), 1 MiB apart, then
// QEMU is killed. The host then reads the raw disk. Expected with QEMU's
// own modes: the two O_DIRECT markers survive (QEMU handed them to the
// host, which did not crash), the page-cache one is lost. With the rig's
// VolatileCache the unflushed O_DIRECT marker must be lost too and the
// flushed one kept: a disk whose cache a power cut empties. Short run:
// unsafe, none and volatile; long: QEMU's five and volatile.
func TestCrashPowerCutCacheModes(t *testing.T) {
	modes := []string{"unsafe", "none", VolatileCache}
	if os.Getenv("CAAMCRYPT_RELIABILITY") == "long" {
		modes = []string{"unsafe", "writeback", "none", "writethrough", "directsync", VolatileCache}
	}
	for _, mode := range modes {
		m := New(t, Config{Flavour: NoUdev, Disks: []DiskSpec{{Name: "d", SizeMiB: 8}}, DiskCache: mode})
		D := m.GuestDevice("d")
		stamp := fmt.Sprint(time.Now().UnixNano())
		flushed, direct, cached := "flushed-"+mode+"-"+stamp, "direct-"+mode+"-"+stamp, "cached-"+mode+"-"+stamp
		// The shell holds the device open (fd 3), so dd's close is not the
		// last one, which would write the device's dirty pages back.
		run := fmt.Sprintf("printf '%%-4096s' %[1]s > /tmp/f && dd if=/tmp/f of=%[4]s bs=4096 seek=256 oflag=direct conv=notrunc,fsync 2>/dev/null && "+
			"printf '%%-4096s' %[2]s > /tmp/a && dd if=/tmp/a of=%[4]s bs=4096 seek=512 oflag=direct conv=notrunc 2>/dev/null && "+
			"exec 3<>%[4]s && printf '%%-4096s' %[3]s > /tmp/b && dd if=/tmp/b of=%[4]s bs=4096 seek=768 conv=notrunc 2>/dev/null && echo written && sleep 60",
			flushed, direct, cached, D)
		res := m.Boot(Boot{Steps: []Step{{Name: "write", Run: run}}, PowerCut: &PowerCut{Step: "write", After: 3 * time.Second}})
		if res.PowerCut == nil || !res.PowerCut.Cut || res.PowerCut.Ended || !strings.Contains(volOut(res, "write"), "written") {
			t.Fatalf("cache=%s: the cut did not land after the writes: %+v\n%s", mode, res.PowerCut, res.ConsoleTail(20))
		}
		raw := string(m.RawDisk(t, "d"))
		gotFlushed, gotDirect, gotCached := strings.Contains(raw, flushed), strings.Contains(raw, direct), strings.Contains(raw, cached)
		t.Logf("cache=%-12s QEMU killed: flushed O_DIRECT write survived=%v, unflushed O_DIRECT write survived=%v, page-cache write survived=%v (clusters dropped: %d)",
			mode, gotFlushed, gotDirect, gotCached, res.PowerCut.Dropped)
		if !gotFlushed {
			t.Errorf("cache=%s: a flushed write was lost", mode)
		}
		if gotCached {
			t.Errorf("cache=%s: a write left in the guest's page cache survived a kill: the cut did not cut", mode)
		}
		switch {
		case mode == VolatileCache && (gotDirect || res.PowerCut.Dropped == 0):
			t.Errorf("cache=%s: the unflushed O_DIRECT write survived the kill (or was not counted as dropped: %d): the cache is not volatile", mode, res.PowerCut.Dropped)
		case mode != VolatileCache && !gotDirect:
			t.Logf("cache=%s drops unflushed writes on a kill: it would model a volatile disk cache", mode)
		}
	}
}
