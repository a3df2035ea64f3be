package vm

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Points of format and open at which the scenarios stop caamcrypt (the
// names of internal/volume/checkpoint.go), in the order the operation
// reaches them. For format, "header" says whether the header is on the
// device by then (an open must then say "format did not finish").
var (
	formatPoints = []struct {
		name   string
		header bool
	}{
		{"format-locked", false}, {"format-key-made", false}, {"format-key-loaded", false},
		{"format-header-written", true}, {"format-check-written", true}, {"format-mapped", true},
		{"format-wiping", true}, {"format-mkfs-done", true}, {"format-mounted", true},
	}
	openPoints = []string{"open-locked", "open-key-loaded", "open-check-verified", "open-mapped", "open-mounted"}
	signals    = []string{"KILL", "INT", "TERM"}
)

// fullInterrupts is set by CAAMCRYPT_VM_RELIABILITY=full (make
// reliability): every point gets SIGKILL, SIGINT and SIGTERM in each
// flavour. Otherwise (make test) each point gets one signal per flavour,
// rotating, so the two flavours together give every point two of the three.
var fullInterrupts = os.Getenv("CAAMCRYPT_VM_RELIABILITY") == "full"

// signalsFor returns the signals point number i gets in flavour f.
func signalsFor(f Flavour, i int) []string {
	if fullInterrupts {
		return signals
	}
	if f == Udev {
		i++
	}
	return []string{signals[i%len(signals)]}
}

// groupOf is the table group of a signal: kill -9 is "kill-points",
// SIGINT/SIGTERM are "signals".
func groupOf(sig string) string {
	if sig == "KILL" {
		return "kill-points"
	}
	return "signals"
}

// interruptLib is the guest path of interrupt_lib.sh.
const interruptLib = "/etc/caamcrypt-test/interrupt.sh"

func interruptLibFile(t *testing.T) []byte {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "test", "vm", "interrupt_lib.sh"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVolumeInterrupts stops caamcrypt format and open at every named
// point (test-only pause hook; each case first checks the marker shows
// the process stopped exactly there) and then kills it with SIGKILL or
// signals it with SIGINT or SIGTERM:
//
//   - SIGINT/SIGTERM: exit 130/143 after the rollback, and nothing half
//     made: no mapping, no caamcrypt key in /proc/keys, nothing mounted.
//   - SIGKILL: exit 137; caamcrypt close (format) or the next open (open)
//     removes what the killed run left, the next open also its key.
//   - format, all three: the device is unchanged (stopped before the header
//     was written: open says "no header", exit 6) or holds a header that
//     open names "format did not finish" (exit 4), never "wrong key"; the
//     next format without --force goes ahead.
//   - open, all three: the volume opens again and its data reads back.
//
// Also: a caamcrypt waiting for the volume lock ends at SIGTERM (exit 143)
// while another one holds the lock; a damaged header copy is rewritten
// by open and by header repair.
func TestVolumeInterrupts(t *testing.T) {
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		start := time.Now()
		disks := []DiskSpec{{Name: "keys", SizeMiB: 16}, {Name: "a", SizeMiB: 16}, {Name: "d", SizeMiB: 16}}
		m0 := &Machine{cfg: Config{Disks: disks}}
		K, A, D := m0.GuestDevice("keys"), m0.GuestDevice("a"), m0.GuestDevice("d")
		bin, err := BuildGoTestHooks("./cmd/caamcrypt")
		if err != nil {
			t.Fatalf("QEMU rig: %v", err)
		}
		m := New(t, Config{
			Flavour:      f,
			Disks:        disks,
			Binaries:     map[string]string{"/usr/bin/caamcrypt": bin},
			Files:        map[string][]byte{interruptLib: interruptLibFile(t)},
			ExtraModules: []Module{CaamsimModule(t, "")},
		})
		mark := "caamcrypt-int-" + hex.EncodeToString(randomBytes(t, 10))
		src := ". " + interruptLib + "\n"

		steps := []volStep{
			{"mkfs-keys", "mkfs.ext4 -q -L keys " + K + " && mkdir -p /data && mount " + K + " /data && mkdir -p /data/caam", 0},
			{"format-a", "caamcrypt format " + A + " --label va --mount /mnt/a && echo " + volQ(mark) + " > /mnt/a/marker && caamcrypt close va", 0},
		}
		type kase struct{ step, group, name string }
		var cases []kase
		for i, p := range formatPoints {
			for _, sig := range signalsFor(f, i) {
				expect := "blank"
				if p.header {
					expect = "unfinished"
				}
				name := fmt.Sprintf("%s/%s", p.name, sig)
				step := "fmt-" + p.name + "-" + sig
				cases = append(cases, kase{step, groupOf(sig), name})
				var b strings.Builder
				b.WriteString(src)
				fmt.Fprintf(&b, "dd if=/dev/zero of=%s bs=1M count=2 conv=notrunc 2>/dev/null; sync\n", D)
				fmt.Fprintf(&b, "s0=$(sha256sum %s)\n", D)
				wipe := "" // --wipe only where the point needs it: it costs seconds under TCG
				if p.name == "format-wiping" {
					wipe = " --wipe"
				}
				fmt.Fprintf(&b, "start %s $CC format %s --label vd%s --mount /mnt/d\n", p.name, D, wipe)
				fmt.Fprintf(&b, "hit %s\nwant_sig_rc %s\n", sig, sig)
				if sig == "KILL" {
					b.WriteString("$CC close vd || bad 'close after kill -9 failed'\n")
				}
				b.WriteString("nothing_left /mnt/d\n")
				fmt.Fprintf(&b, "$CC open %s >/tmp/o.out 2>&1; orc=$?; echo \"open: rc=$orc\"; sed 's/^/  | /' /tmp/o.out\n", D)
				b.WriteString("[ $orc = 5 ] && bad 'open reported a wrong key'\n")
				if expect == "blank" {
					fmt.Fprintf(&b, "[ $orc = 6 ] || bad \"open exit $orc, want 6 (no header)\"\n"+
						"[ \"$(sha256sum %s)\" = \"$s0\" ] || bad 'the device changed'\n", D)
				} else {
					b.WriteString("[ $orc = 4 ] && grep -q 'did not finish' /tmp/o.out || bad \"open exit $orc, want 4 naming 'did not finish'\"\n")
				}
				b.WriteString("nothing_left /mnt/d\n")
				fmt.Fprintf(&b, "$CC format %s --label vd --fs none >/tmp/f.out 2>&1 || { sed 's/^/  | /' /tmp/f.out; bad 'format again without --force failed'; }\n", D)
				b.WriteString("$CC close vd || bad 'close failed'\nnothing_left /mnt/d\nverdict\n")
				steps = append(steps, volStep{step, b.String(), 0})
			}
		}
		for i, p := range openPoints {
			for _, sig := range signalsFor(f, len(formatPoints)+i) {
				name := fmt.Sprintf("%s/%s", p, sig)
				step := "open-" + p + "-" + sig
				cases = append(cases, kase{step, groupOf(sig), name})
				var b strings.Builder
				b.WriteString(src)
				fmt.Fprintf(&b, "start %s $CC open %s --mount /mnt/a\nhit %s\nwant_sig_rc %s\n", p, A, sig, sig)
				if sig != "KILL" {
					b.WriteString("nothing_left /mnt/a\n")
				}
				// After kill -9 the re-open itself must clean up (the killed
				// open's mapping and key).
				fmt.Fprintf(&b, "$CC open %s --mount /mnt/a >/tmp/r.out 2>&1 || { sed 's/^/  | /' /tmp/r.out; bad 're-open failed'; }\n", A)
				b.WriteString("if grep -q caamcrypt: /proc/keys; then bad \"key left after re-open: $(grep caamcrypt: /proc/keys)\"; fi\n")
				fmt.Fprintf(&b, "grep -q %s /mnt/a/marker || bad 'marker not read back'\n", volQ(mark))
				b.WriteString("$CC close va || bad 'close failed'\nnothing_left /mnt/a\nverdict\n")
				steps = append(steps, volStep{step, b.String(), 0})
			}
		}
		// Lock wait: the second open waits for the first (paused holding the
		// lock) and ends at SIGTERM; then the first ends at SIGINT.
		cases = append(cases, kase{"lock-wait", "signals", "lock-wait/TERM"})
		steps = append(steps, volStep{"lock-wait", src +
			"start open-locked $CC open " + A + "\np1=$pid\n" +
			"$CC --log-level info open " + A + " >/tmp/w.out 2>&1 & p2=$!\n" +
			"i=0; while ! grep -q 'waiting for it' /tmp/w.out && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n" +
			"grep -q 'waiting for it' /tmp/w.out || bad 'second open is not waiting for the lock'\n" +
			"kill -TERM $p2; wait $p2; rc2=$?; echo \"waiting open: rc=$rc2\"; sed 's/^/  | /' /tmp/w.out\n" +
			"[ $rc2 = 143 ] || bad \"waiting open exit $rc2, want 143\"\n" +
			"pid=$p1; hit INT; want_sig_rc INT\nnothing_left /mnt/a\nverdict\n", 0})
		// Header repair: open rewrites a damaged copy B, header repair a
		// damaged copy A, and refuses (exit 5, device unchanged) two.
		cases = append(cases, kase{"repair", "header-repair", "open-and-command"})
		steps = append(steps, volStep{"repair", src +
			volFlipByte(A, 65536+300) + "\n" +
			"$CC header dump --json " + A + " | grep -q '\"copy_b_valid\": *false' || bad 'copy B not damaged'\n" +
			"$CC open " + A + " >/tmp/r.out 2>&1 || bad 'open with a damaged copy failed'; sed 's/^/  | /' /tmp/r.out\n" +
			"grep -q 'rewritten' /tmp/r.out || bad 'open did not say it rewrote the copy'\n$CC close va\n" +
			"$CC header dump --json " + A + " | grep -q '\"copy_b_valid\": *true' || bad 'open did not repair copy B'\n" +
			volFlipByte(A, 300) + "\n" +
			"$CC header repair " + A + " || bad 'header repair failed'\n" +
			"$CC header dump --json " + A + " | grep -q '\"copy_a_valid\": *true' || bad 'header repair did not repair copy A'\n" +
			"$CC header repair " + A + " | grep -q 'nothing written' || bad 'repair of a good header wrote'\n" +
			volFlipByte(A, 300) + "\n" + volFlipByte(A, 65536+300) + "\n" +
			"s1=$(sha256sum " + A + "); $CC header repair " + A + "; rc=$?; [ $rc = 5 ] || bad \"repair of two damaged copies: exit $rc, want 5\"\n" +
			"[ \"$(sha256sum " + A + ")\" = \"$s1\" ] || bad 'refused repair changed the device'\n" +
			volFlipByte(A, 300) + "\n$CC open " + A + " --mount /mnt/a && grep -q " + volQ(mark) + " /mnt/a/marker || bad 'volume lost'\n" +
			"$CC close va; nothing_left /mnt/a\nverdict\n", 0})
		steps = append(steps, volStep{"umount-keys", "sync && umount /data", 0})

		res := volRunLong(t, m, steps, 40*time.Minute)
		tried, bad := map[string]int{}, map[string]int{}
		for _, c := range cases {
			r := res.Step(c.step)
			b := 0
			if r == nil || !r.Done || r.ExitCode != 0 || (c.group != "header-repair" && !strings.Contains(r.Output, "LANDED")) {
				b = 1
			}
			reliabilityLine(c.group, string(f)+"/"+c.name, 1, b)
			tried[c.group]++
			bad[c.group] += b
		}
		for g := range tried {
			t.Logf("%s %s: %d cases, %d bad", f, g, tried[g], bad[g])
		}
		t.Logf("TIMING %s TestVolumeInterrupts total %s", f, time.Since(start).Round(100*time.Millisecond))
	})
}
