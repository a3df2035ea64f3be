package vm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/test/vm/fsfixture"
)

// Helpers of the in-place proofs (issue 12): the populated file system
// the tests start from, the guest's checks of it, and the table of
// operations (encrypt, reencrypt, decrypt, and a copy through format/open
// that exercises the same harness without the in-place commands).

// ipFixture is a populated ext4 made on the host: its image (a whole
// device) and the manifest it must keep, also put into the guest.
type ipFixture struct {
	img      string // host path of the device image
	devMiB   int
	fsMiB    int
	manifest fsfixture.Manifest
}

// ipFixtureManifest is where the guest finds the expected manifest.
const ipFixtureManifest = "/etc/caamcrypt-test/fixture.manifest"

// ipMakeFixture builds the fixture of spec on a device of devMiB holding
// a file system of fsMiB (the rest zero: room an in-place encrypt may
// take without shrinking it).
func ipMakeFixture(t *testing.T, spec fsfixture.Spec, devMiB, fsMiB int) *ipFixture {
	t.Helper()
	dir := t.TempDir()
	m, err := fsfixture.Build(filepath.Join(dir, "tree"), spec)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	img := filepath.Join(dir, "fixture.img")
	if err := fsfixture.Image(img, int64(devMiB)<<20, int64(fsMiB)<<20, filepath.Join(dir, "tree")); err != nil {
		t.Fatalf("fixture: %v", err)
	}
	t.Logf("fixture (seed %d): %d entries, %d files, %.1f MiB of file data, ext4 of %d MiB on a %d MiB device",
		spec.Seed, len(m), m.Files(), float64(m.Bytes())/(1<<20), fsMiB, devMiB)
	return &ipFixture{img: img, devMiB: devMiB, fsMiB: fsMiB, manifest: m}
}

// load writes the fixture's image onto the machine's disk (between boots).
func (fx *ipFixture) load(t *testing.T, m *Machine, disk string) {
	t.Helper()
	b, err := os.ReadFile(fx.img)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(m.DiskPath(disk), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, 0); err != nil {
		t.Fatal(err)
	}
}

// files are the guest files every in-place test needs.
func (fx *ipFixture) files() map[string][]byte {
	return map[string][]byte{
		ipFixtureManifest:                []byte(fx.manifest.Text()),
		"/etc/caamcrypt-test/inplace.sh": []byte(fsfixture.VerifyScript + ipLib),
	}
}

// ipLib: guest functions of the in-place tests, after fx_verify.
//
//	ip_fs DEV: e2fsck -f -n DEV, mount it read-only and fx_verify it; sets
//	  K (e2fsck's exit) and FX ("ok", "bad:<lines>" or "nomount").
//	ip_final FORM DEV: the checks of an operation's end form: "volume"
//	  opens DEV with caamcrypt and checks the mapping, "plain" checks DEV;
//	  sets FIN (open's exit, 0 for plain), K and FX.
const ipLib = `
ip_fs() {
	timeout -s KILL 120 e2fsck -f -n "$1" > /tmp/ip.fsck 2>&1; K=$?
	mkdir -p /mnt/ipchk
	if mount -o ro "$1" /mnt/ipchk 2> /tmp/ip.mount; then
		if fx_verify /mnt/ipchk ` + ipFixtureManifest + ` > /tmp/ip.fx; then FX=ok; else FX="bad:$(sed -n 's/^@@FX bad \([0-9]*\).*/\1/p' /tmp/ip.fx)"; cat /tmp/ip.fx; fi
		umount /mnt/ipchk
	else
		FX=nomount; tail -n 1 /tmp/ip.mount
	fi
}

ip_final() {
	FIN=0 K=- FX=-
	if [ "$1" = volume ]; then
		timeout -s KILL 120 caamcrypt open "$2" --name ipfin > /tmp/ip.open 2>&1; FIN=$?
		if [ $FIN = 0 ]; then
			ip_fs /dev/mapper/ipfin
			timeout -s KILL 60 caamcrypt close ipfin > /dev/null 2>&1 || echo "close ipfin failed"
		else
			tail -n 2 /tmp/ip.open
		fi
	else
		ip_fs "$2"
	fi
}

ip_msg() { tail -n 2 | tr '\n|' '  ' | cut -c1-200; }
`

// ipOp is one operation the in-place proofs run. Shell snippets use $1 as
// the device. run is the operation (recorded, power-cut); in a crash state
// the same run is the resume (re-running the command finishes it, issue 12).
type ipOp struct {
	name  string
	prep  string // makes the device ready for run (outside the recorded window)
	run   string
	from  string // form before: "plain" (the fixture's raw ext4) or "volume"
	to    string // form after
	other string // a different command that must refuse a device in the middle of run ("" none)
	needs string // caamcrypt subcommand that must exist ("" none)
}

// ipOps are the operations in the order the proofs chain them (each starts
// from the form the previous one left). ipCopy is the harness's own check
// with the existing format/open: the fixture's file system copied block
// by block into a caamcrypt volume in 1 MiB chunks, each flushed; re-run
// after a crash it copies again, like a resumed encrypt.
var (
	ipEncrypt   = ipOp{name: "encrypt", run: "caamcrypt encrypt $1", from: "plain", to: "volume", other: "caamcrypt decrypt $1", needs: "encrypt"}
	ipReencrypt = ipOp{name: "reencrypt", run: "caamcrypt reencrypt $1", from: "volume", to: "volume", other: "caamcrypt decrypt $1", needs: "reencrypt"}
	ipDecrypt   = ipOp{name: "decrypt", run: "caamcrypt decrypt $1", from: "volume", to: "plain", other: "caamcrypt encrypt $1", needs: "decrypt"}
	ipCopy      = ipOp{name: "copy-into-volume", prep: "caamcrypt format $1 --force --name ipc >/dev/null && caamcrypt close ipc",
		run: "caamcrypt open $1 --name ipc && ip_copy /dev/mapper/ipc && caamcrypt close ipc", from: "volume", to: "volume"}
)

// ipCopyFn copies the fixture's file system from its source disk ($IPSRC)
// into a mapping, FSMIB chunks of 1 MiB, each written with O_DIRECT and flushed.
func ipCopyFn(fsMiB int) string {
	return fmt.Sprintf(`ip_copy() {
	i=0
	while [ $i -lt %d ]; do
		dd if=$IPSRC of="$1" bs=1M skip=$i seek=$i count=1 oflag=direct conv=notrunc,fsync 2>/dev/null || return 1
		i=$((i + 1))
	done
}
`, fsMiB)
}

var ipCmdRe = regexp.MustCompile(`(?m)^\s+(encrypt|reencrypt|decrypt)\b`)

// ipCommands reports which in-place subcommands the caamcrypt binary has
// (from its help text).
func ipCommands(t *testing.T, bin string) map[string]bool {
	t.Helper()
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("caamcrypt --help: %v: %s", err, out)
	}
	have := map[string]bool{}
	for _, m := range ipCmdRe.FindAllStringSubmatch(string(out), -1) {
		have[m[1]] = true
	}
	return have
}

// ipOpsAvailable returns the in-place operations the binary has, in chain
// order; all three or none (a partial set cannot be chained from and back
// to the plain fixture), and logs what is missing.
func ipOpsAvailable(t *testing.T, bin string) []ipOp {
	t.Helper()
	have := ipCommands(t, bin)
	var missing []string
	for _, op := range []ipOp{ipEncrypt, ipReencrypt, ipDecrypt} {
		if !have[op.needs] {
			missing = append(missing, op.needs)
		}
	}
	if len(missing) > 0 {
		t.Logf("caamcrypt has no %s command yet: the in-place operations are not run, only the harness's own copy-into-volume row", strings.Join(missing, ", "))
		return nil
	}
	return []ipOp{ipEncrypt, ipReencrypt, ipDecrypt}
}

// ipField returns the value of key=value in a line of the guest's report.
func ipField(line, key string) string {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v
		}
	}
	return ""
}

// ipBinaries are caamcrypt and the e2fsprogs tool the in-place commands
// run beyond the base image's (resize2fs: encrypt's shrink, decrypt's grow).
func ipBinaries(t *testing.T, caamcrypt string) map[string]string {
	t.Helper()
	return map[string]string{"/usr/bin/caamcrypt": caamcrypt, "/usr/sbin/resize2fs": hostTool(t, "resize2fs")}
}

// ipCmdline is the in-place boots' extra kernel command line: none now
// (no_timer_check, which they needed under load, is on every x86 boot:
// arch.go).
const ipCmdline = ""
