package vm

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCrashIOErrors puts dm-flakey and dm-error under the volume device and
// under the key file system's disk and runs every command against them:
// EIO on every request (flakey down: reads, writes and flushes), EIO on
// writes and flushes only (flakey error_writes), writes silently dropped
// (flakey drop_writes), a device made of the error target, a device whose
// header area reads but whose payload fails, and writes failing every
// other second. For each case it checks: the command ends in bounded time
// (no hang), a failure is reported with a message naming the I/O error,
// nothing half-made stays (no mapping but the test's own, no caamcrypt key
// in any keyring, no backup file or key file left), and the device below
// still has a valid header, byte-identical when no write could reach it.
// Figures: @@RELIABILITY|io-errors|<case>|1|<0 or 1>.
//
// Kernel 6.1's dm-flakey cannot fail flushes alone: error_writes fails
// every write-direction request, empty flushes included.
func TestCrashIOErrors(t *testing.T) {
	m := New(t, Config{
		Flavour:      NoUdev,
		Disks:        []DiskSpec{{Name: "keys", SizeMiB: 16}, {Name: "vol", SizeMiB: 16}},
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
		Files:        map[string][]byte{"/etc/ioerr.sh": []byte(ioerrLib)},
		ExtraModules: []Module{CaamsimModule(t, ""), hostKernelModule(t, "dm-flakey")},
		Timeout:      20 * time.Minute,
	})
	K, V := m.GuestDevice("keys"), m.GuestDevice("vol")
	steps := []volStep{
		{"setup", "mkfs.ext4 -q " + K + " && mkdir -p /data && mount " + K + " /data && mkdir -m 0700 /data/caam && " +
			"caamcrypt key create k0 && caamcrypt format " + V + " --name cv --label cv --mount /mnt/v && echo m > /mnt/v/m && " +
			"caamcrypt close cv && caamcrypt header backup " + V + " /data/hb", 0},
	}
	for _, c := range ioerrCases {
		dev, target := V, "fv"
		if c.keyFS {
			dev, target = K, "fk"
		}
		script := fmt.Sprintf(". /etc/ioerr.sh\nrun_case %s %s %s %s %q %q %q\n", c.name, c.mode, dev, target, c.before, c.cmd, c.after)
		steps = append(steps, volStep{"io-" + c.name, script, 0})
	}
	res := volRun(t, m, "", steps)
	bad := 0
	for _, c := range ioerrCases {
		out := volOut(res, "io-"+c.name)
		facts := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if rest, ok := strings.CutPrefix(l, "@@IO "); ok {
				k, v, _ := strings.Cut(rest, "=")
				facts[k] = v
			}
		}
		var why []string
		rc := facts["rc"]
		switch {
		case rc == "":
			why = append(why, "case did not finish")
		case rc == "124" || rc == "137":
			why = append(why, "hung (killed after the time limit)")
		case rc == "0" && c.mustFail:
			why = append(why, "succeeded on a failing device")
		case rc != "0" && !strings.Contains(strings.ToLower(facts["msg"]), "input/output error") &&
			!strings.Contains(strings.ToLower(facts["msg"]), "i/o error"):
			why = append(why, "failure does not name the I/O error: "+facts["msg"])
		}
		if facts["leftover"] != "none" {
			why = append(why, "left behind: "+facts["leftover"])
		}
		if h := facts["header"]; h != "same" && !(c.mayWrite && h == "valid") {
			why = append(why, "header below: "+h)
		}
		b := 0
		if len(why) > 0 {
			b = 1
			bad++
			t.Errorf("I/O error case %s (%s, %s): %s\n%s", c.name, c.mode, c.cmd, strings.Join(why, "; "), out)
		}
		t.Logf("io case %-28s rc=%-3s %ss %s", c.name, rc, facts["secs"], strings.Join(why, "; "))
		reliabilityLine("io-errors", c.name, 1, b)
	}
	t.Logf("I/O-error cases: %d run, %d bad", len(ioerrCases), bad)
}

// ioerrCase is one command on one faulty device. before runs on a healthy
// mapping of the device (e.g. open a volume), then the table is switched to
// the fault; after runs after the command (e.g. close what it opened).
type ioerrCase struct {
	name, mode string
	keyFS      bool // the fault is under the key file system, mounted at /data2
	before     string
	cmd, after string
	mustFail   bool // no success is possible on this fault
	mayWrite   bool // writes reach the device below: its header may change but must stay valid
}

const ioerrFmt = "caamcrypt format /dev/mapper/fv --force --name fx --label fx"

var ioerrCases = []ioerrCase{
	{name: "format-eio-all", mode: "eio-all", cmd: ioerrFmt, mustFail: true},
	{name: "format-eio-writes", mode: "eio-writes", cmd: ioerrFmt, mustFail: true},
	// A disk that drops writes can only be caught by reading back past
	// the page cache (format and restore do, with O_DIRECT): a format
	// reporting success here would have written nothing.
	{name: "format-drop-writes", mode: "drop-writes", cmd: ioerrFmt, after: "caamcrypt close fx", mustFail: true},
	{name: "format-error-target", mode: "error", cmd: ioerrFmt, mustFail: true},
	{name: "format-eio-payload", mode: "eio-payload", cmd: ioerrFmt, mustFail: true, mayWrite: true},
	{name: "open-eio-all", mode: "eio-all", cmd: "caamcrypt open /dev/mapper/fv --name cv", mustFail: true},
	{name: "open-error-target", mode: "error", cmd: "caamcrypt open /dev/mapper/fv --name cv", mustFail: true},
	// Without --mount, open reads only the header area (key check
	// included): it may succeed with an unreadable payload.
	{name: "open-eio-payload", mode: "eio-payload", cmd: "caamcrypt open /dev/mapper/fv --name cv", after: "caamcrypt close cv"},
	{name: "open-mount-eio-payload", mode: "eio-payload", cmd: "caamcrypt open /dev/mapper/fv --name cv --mount /mnt/v", mustFail: true},
	{name: "open-mount-eio-writes", mode: "eio-writes", cmd: "caamcrypt open /dev/mapper/fv --name cv --mount /mnt/v", after: "caamcrypt close cv"},
	{name: "open-mount-drop-writes", mode: "drop-writes", cmd: "caamcrypt open /dev/mapper/fv --name cv --mount /mnt/v", after: "caamcrypt close cv"},
	{name: "close-mounted-eio-all", mode: "eio-all", before: "caamcrypt open /dev/mapper/fv --name cv --mount /mnt/v && echo x > /mnt/v/x",
		cmd: "caamcrypt close cv", after: "caamcrypt close cv"},
	{name: "close-mounted-error-target", mode: "error", before: "caamcrypt open /dev/mapper/fv --name cv --mount /mnt/v",
		cmd: "caamcrypt close cv", after: "caamcrypt close cv"},
	{name: "status-eio-all", mode: "eio-all", before: "caamcrypt open /dev/mapper/fv --name cv",
		cmd: "caamcrypt status; caamcrypt status cv --json", after: "caamcrypt close cv"},
	{name: "header-backup-eio-all", mode: "eio-all", cmd: "caamcrypt header backup /dev/mapper/fv /tmp/hb2", mustFail: true},
	{name: "header-backup-error-target", mode: "error", cmd: "caamcrypt header backup /dev/mapper/fv /tmp/hb2", mustFail: true},
	{name: "header-dump-eio-all", mode: "eio-all", cmd: "caamcrypt header dump /dev/mapper/fv", mustFail: true},
	{name: "header-restore-eio-writes", mode: "eio-writes", cmd: "caamcrypt header restore /dev/mapper/fv /data/hb --force", mustFail: true},
	{name: "header-restore-eio-all", mode: "eio-all", cmd: "caamcrypt header restore /dev/mapper/fv /data/hb --force", mustFail: true},
	// /data/hb is the header the device already holds: reading back finds
	// it there, so this restore may succeed; the header must stay intact.
	{name: "header-restore-drop-writes", mode: "drop-writes", cmd: "caamcrypt header restore /dev/mapper/fv /data/hb --force"},
	{name: "key-create-eio-writes", mode: "eio-writes", keyFS: true, cmd: "caamcrypt --key-dir /data2/caam key create kx", mustFail: true},
	{name: "key-create-force-eio-writes", mode: "eio-writes", keyFS: true, cmd: "caamcrypt --key-dir /data2/caam key create k0 --force", mustFail: true},
	{name: "key-import-eio-writes", mode: "eio-writes", keyFS: true, cmd: "caamcrypt --key-dir /data2/caam key import /data2/caam/k0.bb ky", mustFail: true},
	{name: "format-intermittent-writes", mode: "intermittent", cmd: "sleep 0.5; " + ioerrFmt, after: "caamcrypt close fx", mayWrite: true},
}

// ioerrLib is the guest side: run_case NAME MODE DEV TARGET BEFORE CMD AFTER
// prints "@@IO key=value" facts for the host to judge.
const ioerrLib = `
hdrsum() { dd if="$1" bs=4096 count=17 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1; }
table() { # MODE DEV
	sz=$(blockdev --getsz "$2")
	case $1 in
	healthy) echo "0 $sz linear $2 0" ;;
	eio-all) echo "0 $sz flakey $2 0 0 1" ;;
	eio-writes) echo "0 $sz flakey $2 0 0 1 1 error_writes" ;;
	drop-writes) echo "0 $sz flakey $2 0 0 1 1 drop_writes" ;;
	intermittent) echo "0 $sz flakey $2 0 1 1 1 error_writes" ;;
	error) echo "0 $sz error" ;;
	eio-payload) printf '0 2048 linear %s 0\n2048 %s error\n' "$2" $((sz - 2048)) ;;
	esac
}
run_case() {
	name=$1 mode=$2 dev=$3 tg=$4 before=$5 cmd=$6 after=$7
	keyfs=0; [ "$tg" = fk ] && keyfs=1
	ref=$(hdrsum "$dev")
	[ $keyfs = 0 ] || umount /data || { echo "@@IO rc=setup"; return 1; }
	table healthy "$dev" | dmsetup create "$tg" && dmsetup mknodes "$tg" || { echo "@@IO rc=setup"; return 1; }
	if [ $keyfs = 1 ]; then
		mkdir -p /data2 && mount /dev/mapper/fk /data2 || { echo "@@IO rc=setup"; return 1; }
		ls /data2/caam > /tmp/keys.before
	fi
	if [ -n "$before" ]; then sh -c "$before" || { echo "@@IO rc=before-failed"; return 1; }; fi
	table "$mode" "$dev" | dmsetup load "$tg" && dmsetup suspend --nolockfs --noflush "$tg" && dmsetup resume "$tg" || { echo "@@IO rc=load-failed"; return 1; }
	t0=$(date +%s)
	out=$(timeout -s KILL 90 sh -c "$cmd" 2>&1); rc=$?
	echo "$out"
	echo "@@IO rc=$rc"
	echo "@@IO secs=$(( $(date +%s) - t0 ))"
	echo "@@IO msg=$(echo "$out" | grep -v '^ *$' | tail -n 2 | tr '\n' ' ')"
	if [ -n "$after" ] && [ $rc = 0 ]; then timeout -s KILL 90 sh -c "$after" >/dev/null 2>&1; fi
	left=
	if [ $keyfs = 1 ]; then
		# What the running system still shows on the failed file system
		# (information: it is gone after a remount), then what the disk holds.
		echo "@@IO memfiles=$(ls -a /data2/caam | grep -v '^\.\.*$' | grep -vxF -f /tmp/keys.before | tr '\n' ' ')"
		timeout -s KILL 60 umount /data2 || timeout -s KILL 60 umount -l /data2
	fi
	[ -e /tmp/hb2 ] && left="$left file:/tmp/hb2" && rm -f /tmp/hb2
	maps=$(dmsetup ls | cut -f1 | grep -vx -e "$tg" -e 'No devices found' | tr '\n' ' ')
	[ -z "$maps" ] || left="$left maps:$maps"
	keys=$(grep -c caamcrypt: /proc/keys)
	[ "$keys" = 0 ] || left="$left keys:$keys"
	# Clean up whatever was left so the next case starts afresh.
	for mp in $maps; do umount /dev/mapper/$mp 2>/dev/null; dmsetup remove --force $mp 2>/dev/null; done
	for k in $(grep caamcrypt: /proc/keys | cut -d' ' -f1); do keyctl unlink 0x$k 2>/dev/null; keyctl revoke 0x$k 2>/dev/null; done
	umount /mnt/v 2>/dev/null
	dmsetup remove --force "$tg" || dmsetup remove --force "$tg"
	echo "@@IO leftover=${left:-none}"
	if [ $keyfs = 1 ]; then
		mount "$dev" /data || echo "@@IO header=keyfs-unmountable"
		extra=$(ls -a /data/caam | grep -v '^\.\.*$' | grep -vxF -f /tmp/keys.before | tr '\n' ' ')
		[ -z "$extra" ] || echo "@@IO leftover=files on disk: $extra"
		echo "@@IO header=same"
	else
		s=$(hdrsum "$dev")
		if [ "$s" = "$ref" ]; then echo "@@IO header=same"
		elif caamcrypt header dump "$dev" >/dev/null 2>&1; then echo "@@IO header=valid"
		else echo "@@IO header=broken"; fi
		# Put the volume back as the setup left it for the next case.
		if [ "$s" != "$ref" ]; then caamcrypt format "$dev" --force --name cv --label cv --mount /mnt/v >/dev/null 2>&1 && echo m > /mnt/v/m && caamcrypt close cv && caamcrypt header backup "$dev" /data/hb.new >/dev/null && mv /data/hb.new /data/hb; fi
	fi
	return 0
}
`
