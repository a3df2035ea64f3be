package vm

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Bad-input matrix (issue 9): every row runs one caamcrypt command with one
// bad input in the guest, with caamsim loaded, and must be refused cleanly:
// the expected exit code, a message naming the problem, and nothing changed
// (the SHA-256... here MD5 of every disk, the key directory's names, sizes,
// modes, owners and file hashes, no mapping, no caamcrypt or logon key in
// the keyrings). All rows run in one boot of the noudev flavour (udev plays
// no part in refusing input; one boot keeps CI time down).

// biRow is one bad input.
type biRow struct {
	name string
	cmd  string // guest shell; $V $P $G $H are the disks, $KD the key directory
	code int    // expected exit code
	frag string // expected in the output (case-insensitive)
}

// biHelpers is sourced by every step: the disks, the snapshot of everything
// a refused command must leave alone, and row, which runs a command and
// compares the snapshot after it with the one taken once after setup (every
// row must leave everything as setup made it, so one baseline serves all).
const biHelpers = `export KD=/data/caam
snap() {
	md5sum $V $P $G $H
	find /data /tmp/bi -exec stat -c '%n %s %a %u %F' {} + | sort
	find /data -type f -exec md5sum {} + | sort
	dmsetup ls
	echo "keys: $(grep -c -e caamcrypt -e logon /proc/keys)"
}
row() {
	sh -c "$1" 2>&1
	rc=$?
	snap >/tmp/snap.after 2>&1
	if ! cmp -s /tmp/snap.base /tmp/snap.after; then
		echo "@@CHANGED"
		diff /tmp/snap.base /tmp/snap.after
	fi
	case "$(dmsetup ls)" in *"No devices found"*) ;; *) echo "@@MAPPED"; dmsetup ls ;; esac
	return $rc
}
`

// biSetup prepares good keys and volumes and the bad files the rows use.
func biSetup() []Step {
	flip := func(file string, off int) string { return volFlipByte(file, off) }
	setByte := func(file string, off int, val int) string {
		return fmt.Sprintf("printf '\\%03o' | dd of=%s bs=1 seek=%d count=1 conv=notrunc 2>/dev/null", val, file, off)
	}
	var prep strings.Builder
	prep.WriteString("set -e\nmkdir -p /tmp/bi && cd /tmp/bi\n")
	for _, f := range []struct{ src, dst string }{{"$KD/gk", "key"}, {"$KD/gk.bb", "blob"}} {
		fmt.Fprintf(&prep, "head -c 30 %s > %s-trunc\n", f.src, f.dst)
		fmt.Fprintf(&prep, "cat %s > %s-over; printf 'x' >> %s-over\n", f.src, f.dst, f.dst)
		fmt.Fprintf(&prep, "head -c $(stat -c %%s %s) /dev/urandom > %s-garbled\n", f.src, f.dst)
		fmt.Fprintf(&prep, "cat %s > %s-version; %s\n", f.src, f.dst, setByte(f.dst+"-version", 4, 7))
		fmt.Fprintf(&prep, ": > %s-empty\n", f.dst)
	}
	prep.WriteString("cat $KD/gk.bb > blob-flipped; " + flip("blob-flipped", 60) + "\n")
	prep.WriteString("caamcrypt header backup $V hb\n")
	prep.WriteString("head -c 5000 hb > hb-trunc; cat hb > hb-over; printf 'x' >> hb-over\n")
	prep.WriteString("cat hb > hb-garbled; " + flip("hb-garbled", 300) + "; " + flip("hb-garbled", 4096+300) + "\n")
	prep.WriteString("cat hb > hb-version; " + setByte("hb-version", 10, 2) + "; " + setByte("hb-version", 4096+10, 2) + "\n")
	prep.WriteString("head -c 8192 /dev/urandom > hb-random\n")
	// Disks with a damaged header: both copies garbled (G), both copies of
	// another major version (H). The header area of V, then edited.
	prep.WriteString("dd if=$V of=$G bs=64k count=2 conv=notrunc 2>/dev/null; " + flip("$G", 300) + "; " + flip("$G", 65536+300) + "\n")
	prep.WriteString("dd if=$V of=$H bs=64k count=2 conv=notrunc 2>/dev/null; " + setByte("$H", 10, 2) + "; " + setByte("$H", 65536+10, 2) + "\n")
	// Key directories others could change.
	prep.WriteString("mkdir -p /data/real && chmod 700 /data/real && ln -s /data/real /data/link\n")
	prep.WriteString("mkdir -p /data/gw /data/ww && chmod 770 /data/gw && chmod 777 /data/ww\n")
	prep.WriteString("cp $KD/pk $KD/pk.bb /data/ww/ && cp $KD/pk $KD/pk.bb /data/gw/\n")
	// Volume tables.
	tabs := map[string]string{
		"tab-fields":  "vp\n",
		"tab-many":    "vp $P pk type=plain extra\n",
		"tab-unknown": "vp $P pk type=plain,nofial\n",
		"tab-dup":     "vp $P pk type=plain\nvp $V -\n",
		"tab-uuid":    "vu UUID=not-a-uuid -\n",
		"tab-uuid2":   "vu UUID=6f1c2a4e-8d1b-4c3e-9a57-0b2d4e6f8a10 -\n",
		"tab-label":   "vl LABEL= -\n",
		"tab-label2":  "vl LABEL=no-such-label -\n",
		"tab-mount":   "vp $P pk type=plain,mount=rel/dir\n",
		"tab-key":     "vp $P ../pk type=plain\n",
		"tab-sector":  "vp $P pk type=plain,sector-size=1000\n",
		"tab-name":    "../x $P pk type=plain\n",
		"tab-ctype":   "vv $V pk type=caamcrypt\n",
		"tab-twice":   "vp $P pk type=plain,mount=/a,mount=/b\n",
	}
	for name, body := range tabs {
		fmt.Fprintf(&prep, "cat > %s <<EOF\n%sEOF\n", name, body)
	}
	prep.WriteString("printf 'passphrase\\n' > pass\nls -l /tmp/bi\nsnap > /tmp/snap.base 2>&1\ncat /tmp/snap.base\n")
	return []Step{
		{Name: "setup-keys", Run: biHelpers + "mkdir -p /data && mount -t tmpfs -o mode=755 tmpfs /data && mkdir -m 700 $KD\n" +
			"caamcrypt key create gk --hex 1112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f30 && " +
			"caamcrypt key create ok --size 32"},
		{Name: "setup-volumes", Run: biHelpers + "caamcrypt format $V --label bv --fs none && caamcrypt close bv && " +
			"caamcrypt format $P --type plain --key pk --name vp && caamcrypt close vp"},
		{Name: "setup-files", Run: biHelpers + prep.String()},
	}
}

// biRows is the matrix. Codes: 2 usage, 3 not supported, 4 refused,
// 5 wrong key / tampered, 6 not found (README's table).
func biRows() []biRow {
	var rows []biRow
	add := func(name, cmd string, code int, frag string) { rows = append(rows, biRow{name, cmd, code, frag}) }
	// Key and blob files: key info decodes without the CAAM, key import
	// hands the blob to it.
	for _, f := range []string{"key", "blob"} {
		add("info-"+f+"-trunc", "caamcrypt key info /tmp/bi/"+f+"-trunc", 2, "truncated")
		add("info-"+f+"-over", "caamcrypt key info /tmp/bi/"+f+"-over", 2, "bytes")
		add("info-"+f+"-garbled", "caamcrypt key info /tmp/bi/"+f+"-garbled", 2, "tag")
		add("info-"+f+"-version", "caamcrypt key info /tmp/bi/"+f+"-version", 2, "version")
		add("info-"+f+"-empty", "caamcrypt key info /tmp/bi/"+f+"-empty", 2, "truncated")
	}
	for _, f := range []string{"trunc", "over", "garbled", "version", "empty"} {
		add("import-blob-"+f, "caamcrypt key import /tmp/bi/blob-"+f+" nk", 2, "")
	}
	add("import-black-key-as-blob", "caamcrypt key import $KD/gk nk", 2, "blob")
	add("import-blob-flipped", "caamcrypt key import /tmp/bi/blob-flipped nk", 5, "integrity")
	add("import-blob-missing", "caamcrypt key import /tmp/bi/no-such.bb nk", 6, "no-such.bb")
	add("import-existing-name", "caamcrypt key import $KD/ok.bb gk", 4, "exists")
	// Header backup files and damaged headers on the device.
	// A bad backup file is refused before the device is opened (exit 4,
	// "not usable", with the reason).
	for _, f := range []struct{ name, why string }{
		{"trunc", "5000 bytes"}, {"over", "8193 bytes"}, {"garbled", "checksum"}, {"version", "version"}, {"random", "no caamcrypt header"},
	} {
		add("restore-"+f.name, "caamcrypt header restore $V /tmp/bi/hb-"+f.name, 4, f.why)
	}
	// V's backup onto the closed plain volume P (ciphertext, no signature).
	add("restore-over-plain-volume", "caamcrypt header restore $P /tmp/bi/hb", 4, "right device")
	add("open-garbled-header", "caamcrypt open $G", 5, "corrupt")
	add("open-version-header", "caamcrypt open $H", 3, "version")
	add("dump-garbled-header", "caamcrypt header dump $G", 5, "corrupt")
	add("backup-garbled-header", "caamcrypt header backup $G /tmp/bi/out-g", 5, "corrupt")
	add("format-over-garbled-header", "caamcrypt format $G --fs none", 4, "caamcrypt")
	// Key directories others could change.
	add("keydir-symlink-create", "caamcrypt --key-dir /data/link key create nk --size 16", 4, "symlink")
	add("keydir-group-writable-create", "caamcrypt --key-dir /data/gw key create nk --size 16", 4, "writable")
	add("keydir-world-writable-create", "caamcrypt --key-dir /data/ww key create nk --size 16", 4, "writable")
	add("keydir-world-writable-import", "caamcrypt --key-dir /data/ww key import $KD/ok.bb nk", 4, "writable")
	add("keydir-world-writable-derive", "caamcrypt --key-dir /data/ww key derive nk --passphrase-file /tmp/bi/pass", 4, "writable")
	add("keydir-world-writable-open-plain", "caamcrypt --key-dir /data/ww open $P --type plain --key pk --name vp", 4, "writable")
	add("keydir-group-writable-open-plain", "caamcrypt --key-dir /data/gw open $P --type plain --key pk --name vp", 4, "writable")
	add("keydir-symlink-format-plain", "caamcrypt --key-dir /data/link format $P --type plain --key pk --name vp --force", 4, "symlink")
	// Names.
	for _, n := range []struct{ what, name string }{
		{"slash", "a/b"}, {"dotdot", ".."}, {"space", "'a b'"}, {"newline", "\"$(printf 'a\\nb')\""},
		{"control", "\"$(printf 'a\\001b')\""}, {"overlong", strings.Repeat("n", 300)}, {"empty", "''"},
	} {
		add("key-create-name-"+n.what, "caamcrypt key create "+n.name+" --size 16", 2, "name")
	}
	add("key-import-name-dotdot", "caamcrypt key import $KD/ok.bb ../x", 2, "name")
	add("key-derive-name-slash", "caamcrypt key derive a/b --passphrase-file /tmp/bi/pass", 2, "name")
	for _, n := range []struct{ what, name string }{
		{"slash", "a/b"}, {"dotdot", ".."}, {"space", "'a b'"}, {"control", "\"$(printf 'a\\001b')\""}, {"overlong", strings.Repeat("n", 200)},
	} {
		add("format-name-"+n.what, "caamcrypt format $G --force --fs none --name "+n.name, 2, "name")
		add("open-name-"+n.what, "caamcrypt open $V --name "+n.name, 2, "name")
	}
	add("format-label-overlong", "caamcrypt format $G --force --fs none --label "+strings.Repeat("l", 48), 2, "label")
	add("format-key-name-slash", "caamcrypt format $P --type plain --key ../pk --name vp --force", 2, "name")
	// Volume tables.
	tab := func(name, file, cmd string, code int, frag string) {
		add(name, "caamcrypt --config /tmp/bi/"+file+" "+cmd, code, frag)
	}
	tab("tab-too-few-fields", "tab-fields", "open --all", 2, "line 1")
	tab("tab-too-many-fields", "tab-many", "open --all", 2, "too many fields")
	tab("tab-unknown-option", "tab-unknown", "open vp", 2, "unknown option")
	tab("tab-duplicate-name", "tab-dup", "open --all", 2, "already used")
	tab("tab-bad-uuid", "tab-uuid", "open vu", 2, "UUID")
	tab("tab-unknown-uuid", "tab-uuid2", "open vu", 6, "UUID")
	tab("tab-empty-label", "tab-label", "open vl", 2, "LABEL")
	tab("tab-unknown-label", "tab-label2", "open vl", 6, "no-such-label")
	tab("tab-relative-mount", "tab-mount", "open vp", 2, "absolute")
	tab("tab-relative-key", "tab-key", "open vp", 2, "key")
	tab("tab-bad-sector-size", "tab-sector", "open vp", 2, "sector")
	tab("tab-bad-name", "tab-name", "open --all", 2, "name")
	tab("tab-caamcrypt-with-key", "tab-ctype", "open vv", 2, "blob")
	tab("tab-option-twice", "tab-twice", "open vp", 2, "twice")
	tab("tab-missing-file", "no-such-tab", "open --all", 6, "no-such-tab")
	// Plain volumes: the wrong key and the wrong sector size both map
	// (plain volumes have no key check) and must fail at the mount, with the
	// mapping and the key removed again.
	// Exit codes as they are: "not found" (no filesystem) and a failed
	// e2fsck; the messages name the wrong key.
	add("plain-wrong-key", "caamcrypt open $P --type plain --key gk --name vp --mount /mnt/p", 6, "wrong key")
	add("plain-wrong-sector-size", "caamcrypt open $P --type plain --key pk --name vp --sector-size 4096 --mount /mnt/p", 1, "wrong key or sector size")
	add("plain-missing-key", "caamcrypt open $P --type plain --key nokey --name vp", 6, "nokey")
	add("plain-bad-sector-size", "caamcrypt open $P --type plain --key pk --name vp --sector-size 1000", 2, "sector")
	// Numeric arguments.
	for _, v := range []string{"-1", "15", "65", "0", "99999999999999999999", "abc", "1e3"} {
		add("key-size-"+v, "caamcrypt key create nk --size "+v, 2, "size")
	}
	for _, v := range []string{"1000", "-512", "0", "8192", "abc"} {
		add("sector-size-"+v, "caamcrypt format $G --force --fs none --sector-size "+v, 2, "sector")
	}
	for _, v := range []string{"8", "1e3", "-32"} {
		add("format-key-size-"+v, "caamcrypt format $G --force --fs none --key-size "+v, 2, "size")
	}
	for _, v := range []string{"0", "-1", "abc", "99999999999999999999"} {
		add("derive-iter-"+v, "caamcrypt key derive nk --passphrase-file /tmp/bi/pass --iter "+v, 2, "iter")
	}
	add("derive-size-15", "caamcrypt key derive nk --passphrase-file /tmp/bi/pass --size 15", 2, "size")
	add("derive-salt-short", "caamcrypt key derive nk --passphrase-file /tmp/bi/pass --salt 0102", 2, "salt")
	add("derive-salt-nonhex", "caamcrypt key derive nk --passphrase-file /tmp/bi/pass --salt zz02030405060708", 2, "salt")
	return rows
}

func TestBadInputs(t *testing.T) {
	RequireVM(t)
	f := NoUdev
	disks := []DiskSpec{{Name: "v", SizeMiB: 2}, {Name: "p", SizeMiB: 3}, {Name: "g", SizeMiB: 2}, {Name: "h", SizeMiB: 1}}
	m := New(t, Config{
		Flavour:      f,
		Disks:        disks,
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
		ExtraModules: []Module{CaamsimModule(t, "")},
	})
	env := fmt.Sprintf("export V=%s P=%s G=%s H=%s\n", m.GuestDevice("v"), m.GuestDevice("p"), m.GuestDevice("g"), m.GuestDevice("h"))
	steps := biSetup()
	for i := range steps {
		steps[i].Run = env + steps[i].Run
	}
	rows := biRows()
	for _, r := range rows {
		steps = append(steps, Step{Name: r.name, Run: env + biHelpers + "row " + shellQuote(r.cmd), MayFail: true})
	}
	start := time.Now()
	res := m.Boot(Boot{Steps: steps, Timeout: 10 * time.Minute})
	t.Logf("TIMING bad inputs %s: %d rows, wall %s, steps %s", f, len(rows), time.Since(start).Round(100*time.Millisecond),
		res.StepsTime().Round(100*time.Millisecond))
	for _, s := range steps[:3] {
		if err := res.Check(s.Name); err != nil {
			t.Fatal(err)
		}
	}
	bad := 0
	for _, r := range rows {
		s := res.Step(r.name)
		var why []string
		switch {
		case s == nil || !s.Done:
			why = append(why, "did not run to the end")
		default:
			if s.ExitCode != r.code {
				why = append(why, fmt.Sprintf("exit %d, want %d", s.ExitCode, r.code))
			}
			if !strings.Contains(strings.ToLower(s.Output), strings.ToLower(r.frag)) {
				why = append(why, fmt.Sprintf("message lacks %q", r.frag))
			}
			if !strings.Contains(s.Output, "caamcrypt: ") {
				why = append(why, "no caamcrypt error message")
			}
			if strings.Contains(s.Output, "@@CHANGED") {
				why = append(why, "something changed")
			}
			if strings.Contains(s.Output, "@@MAPPED") {
				why = append(why, "a mapping was left")
			}
			if strings.Contains(s.Output, "panic:") || strings.Contains(s.Output, "goroutine ") {
				why = append(why, "panicked")
			}
		}
		if len(why) > 0 {
			bad++
			out := ""
			if s != nil {
				out = s.Output
			}
			t.Errorf("row %s: %s\n[command] %s\n[output]\n%s", r.name, strings.Join(why, "; "), r.cmd, out)
		} else if testing.Verbose() {
			t.Logf("row %s: exit %d: %s", r.name, s.ExitCode, firstLine(s.Output))
		}
	}
	if res.TimedOut {
		t.Fatalf("boot timed out; console tail:\n%s", res.ConsoleTail(40))
	}
	reliabilityLine("bad-inputs", string(f), len(rows), bad)
}

// shellQuote quotes s as one word for the guest shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// firstLine is the first line of s that carries caamcrypt's message.
func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "caamcrypt: ") {
			return l
		}
	}
	return ""
}
