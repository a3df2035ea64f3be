package vm

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/pbkdf2"
)

// Known key material for TestSecretsNeverShown. The red key is printable so
// its raw bytes can be searched in text output too.
const (
	secRedKey     = "caamcrypt-secret-red-key-32bytes"
	secPassphrase = "correct horse battery staple 42"
	secSalt       = "0102030405060708"
	secIter       = 1000
)

// secWrapped are the programs caamcrypt runs; each is replaced on PATH by a
// wrapper that appends its argv to /tmp/argv.log and runs the real one.
var secWrapped = []string{"mke2fs", "mkfs.ext4", "e2fsck", "fsck.ext4", "tune2fs", "dumpe2fs", "blkid", "wipefs",
	"keyctl", "dmsetup", "mount", "umount", "udevadm", "modprobe"}

// TestSecretsNeverShown runs every command at --log-level trace with known
// key material (a --hex key, a known passphrase for derive) and proves, on
// a real kernel with caamsim:
//   - no output (stdout, stderr, the trace log) holds the red key (raw, hex
//     in either case, base64), the passphrase, the PBKDF2 key derived from
//     it, or the black key file's bytes (hex) — only the command line of
//     caamcrypt itself holds the --hex key, as its help says;
//   - no child process (mke2fs, e2fsck, dmsetup, ...) gets key material in
//     its argv: wrappers on PATH record every argv;
//   - every command reports, from the kernel, that the process is not
//     dumpable (PR_GET_DUMPABLE 0) and has locked memory (VmLck), and a
//     long-running format --wipe shows VmLck > 0 in /proc/<pid>/status
//     from outside while it holds the key.
func TestSecretsNeverShown(t *testing.T) {
	RequireVM(t)
	f := NoUdev
	files := map[string][]byte{"/etc/caamcrypt-test/pass": []byte(secPassphrase + "\n")}
	for _, p := range secWrapped {
		// By path: busybox sh would run its own applet for a bare name.
		files["/opt/argv/bin/"+p] = []byte(fmt.Sprintf("#!/bin/sh\necho \"%[1]s $*\" >> /tmp/argv.log\n"+
			"for d in $(echo \"${PATH#/opt/argv/bin:}\" | tr : ' '); do [ -x \"$d/%[1]s\" ] && exec \"$d/%[1]s\" \"$@\"; done\n"+
			"echo \"%[1]s: not found\" >&2; exit 127\n", p))
	}
	m := New(t, Config{
		Flavour:      f,
		Disks:        []DiskSpec{{Name: "v", SizeMiB: 8}, {Name: "p", SizeMiB: 8}, {Name: "w", SizeMiB: 48}},
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(t, "./cmd/caamcrypt")},
		Files:        files,
		ExtraModules: []Module{CaamsimModule(t, "")},
	})
	V, P, W := m.GuestDevice("v"), m.GuestDevice("p"), m.GuestDevice("w")
	hexKey := hex.EncodeToString([]byte(secRedKey))
	pre := "export PATH=/opt/argv/bin:$PATH CAAMCRYPT_LOG_LEVEL=trace\n"
	cc := func(args string) string { return "caamcrypt " + args }
	cmds := []struct{ name, run string }{
		{"key-create", cc("key create sk --hex " + hexKey)},
		{"key-create-text", cc("key create tk --text " + secRedKey)},
		{"key-create-file", "printf %s " + secRedKey + " > /tmp/red && " + cc("key create fk --key-file /tmp/red") + "; rm -f /tmp/red"},
		{"key-create-stdin", "printf %s " + secRedKey + " | " + cc("key create ik --key-file -")},
		{"key-info", cc("key info /data/caam/sk") + " && " + cc("key info /data/caam/sk.bb --json")},
		{"key-import", cc("key import /data/caam/sk.bb sk2")},
		{"key-derive", cc(fmt.Sprintf("key derive dk --passphrase-file /etc/caamcrypt-test/pass --salt %s --iter %d", secSalt, secIter))},
		{"key-derive-stdin", cc(fmt.Sprintf("key derive dk2 --salt %s --iter %d", secSalt, secIter)) + " < /etc/caamcrypt-test/pass"},
		{"format", cc("format "+V+" --key sk --label sv --mount /mnt/s") + " && echo data > /mnt/s/f"},
		{"status", cc("status") + " && " + cc("status sv --json")},
		{"close", cc("close sv")},
		{"open", cc("open "+V+" --mount /mnt/s --keep-key") + " && cat /mnt/s/f"},
		{"close-2", cc("close sv")},
		{"header-dump", cc("header dump "+V) + " && " + cc("header dump "+V+" --json")},
		{"header-backup", cc("header backup "+V+" /tmp/hb") + " && " + cc("header restore "+V+" /tmp/hb")},
		{"format-plain", cc("format " + P + " --type plain --key pk --name vp --mount /mnt/p")},
		{"close-plain", cc("close vp")},
		{"open-plain", cc("open "+P+" --type plain --key pk --name vp --mount /mnt/p") + " && " + cc("close vp")},
		{"doctor", cc("doctor") + "; " + cc("doctor --json")},
		{"log-json", cc("--log-format json key create jk --hex " + hexKey)},
	}
	steps := []Step{{Name: "setup", Run: "mkdir -p /data/caam && chmod 700 /data/caam && : > /tmp/argv.log"}}
	for _, c := range cmds {
		steps = append(steps, Step{Name: c.name, Run: pre + c.run})
	}
	// format --wipe runs long enough to look at the process from outside.
	steps = append(steps, Step{Name: "vmlck", Run: pre + cc("format "+W+" --key sk --name sw --fs none --wipe") + " >/tmp/wipe.out 2>&1 &\n" +
		"p=$!; max=0; n=0\nwhile kill -0 $p 2>/dev/null; do\n" +
		"  l=$(awk '/^VmLck/{print $2}' /proc/$p/status 2>/dev/null); [ -n \"$l\" ] && [ \"$l\" -gt \"$max\" ] && max=$l; n=$((n+1)); sleep 0.2\ndone\n" +
		"wait $p; rc=$?; cat /tmp/wipe.out; echo \"samples=$n max VmLck=${max} kB rc=$rc\"; " + cc("close sw") + "; [ $rc = 0 ] && [ $max -gt 0 ]"})
	steps = append(steps,
		Step{Name: "argv", Run: "cat /tmp/argv.log"},
		Step{Name: "black-key", Run: "od -An -tx1 -v /data/caam/sk | tr -d ' \\n'; echo; od -An -tx1 -v /data/caam/dk | tr -d ' \\n'; echo"},
	)
	start := time.Now()
	res := m.Boot(Boot{Steps: steps, Timeout: 10 * time.Minute})
	t.Logf("TIMING secrets %s: wall %s, steps %s", f, time.Since(start).Round(100*time.Millisecond), res.StepsTime().Round(100*time.Millisecond))
	res.Require(t)

	blackHex := strings.Fields(volOut(res, "black-key"))
	if len(blackHex) != 2 || len(blackHex[0]) < 2*36 {
		t.Fatalf("black key dump: %q", volOut(res, "black-key"))
	}
	salt, _ := hex.DecodeString(secSalt)
	derived := pbkdf2.Key([]byte(secPassphrase), salt, secIter, 32+16, sha256.New)[:32]
	secrets := map[string]string{
		"red key (raw)":            secRedKey,
		"red key (hex)":            hexKey,
		"red key (HEX)":            strings.ToUpper(hexKey),
		"red key (base64)":         base64.StdEncoding.EncodeToString([]byte(secRedKey)),
		"passphrase":               secPassphrase,
		"derived key (hex)":        hex.EncodeToString(derived),
		"derived key (HEX)":        strings.ToUpper(hex.EncodeToString(derived)),
		"black key sk (hex)":       blackHex[0],
		"black key sk (HEX)":       strings.ToUpper(blackHex[0]),
		"black key sk body (hex)":  blackHex[0][40:],
		"black key dk (hex)":       blackHex[1],
		"black key sk (base64)":    base64.StdEncoding.EncodeToString(mustHex(t, blackHex[0])),
		"derived key (raw prefix)": string(derived[:8]),
	}
	protected := regexp.MustCompile(`process protection: dumpable=0 VmLck=[1-9][0-9]* kB`)
	for _, c := range cmds {
		out := volOut(res, c.name)
		for what, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("step %s: output holds the %s:\n%s", c.name, what, out)
			}
		}
		if n := strings.Count(out, "level=trace"); n == 0 && !strings.Contains(out, `"level":"trace"`) {
			t.Errorf("step %s: no trace output, so the check above saw no log:\n%s", c.name, out)
		}
		if !protected.MatchString(out) {
			t.Errorf("step %s: no kernel report of a non-dumpable, memory-locked process:\n%s", c.name, out)
		}
	}
	argv := volOut(res, "argv")
	for what, s := range secrets {
		if strings.Contains(argv, s) {
			t.Errorf("a child's argv holds the %s:\n%s", what, argv)
		}
	}
	// e2fsck runs only on a filesystem that asks for a check, so mke2fs is
	// the child every run must show.
	for _, want := range []string{"mke2fs "} {
		if !strings.Contains(argv, want) {
			t.Errorf("argv log has no %q: the wrappers were not used, so the check proves nothing:\n%s", want, argv)
		}
	}
	lck := regexp.MustCompile(`samples=[0-9]+ max VmLck=[0-9]+ kB`).FindString(volOut(res, "vmlck"))
	if lck == "" {
		t.Errorf("vmlck: %s", volOut(res, "vmlck"))
	}
	t.Logf("children run: %d argv lines; format --wipe seen from outside: %s", strings.Count(argv, "\n"), lck)
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
