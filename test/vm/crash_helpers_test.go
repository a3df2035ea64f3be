package vm

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/header"
)

// Helpers of the crash-state tests (crash_test.go): host-side checks of
// replayed key file systems and volume headers, and the figure lines the
// reliability table is made from.

// hostKernelModule returns one of the host kernel's own modules (e.g.
// "dm-log-writes", "dm-flakey") for Config.ExtraModules; it must depend on
// nothing beyond BaseModules.
func hostKernelModule(t *testing.T, name string) Module {
	t.Helper()
	h, err := cachedHost()
	if err != nil {
		t.Fatalf("QEMU rig: %v", err)
	}
	db, err := loadModuleDB(h.ModulesDir)
	if err != nil {
		t.Fatalf("QEMU rig: %v", err)
	}
	rel, ok := db.byName[normModName(name)]
	if !ok {
		t.Fatalf("kernel module %s not in %s (Debian builds it as a module)", name, h.ModulesDir)
	}
	return Module{Path: filepath.Join(h.ModulesDir, rel)}
}

// reliabilityLine prints a figure for the reliability table (see
// test/reliability): group, case, how many tried, how many bad.
func reliabilityLine(group, kase string, tried, bad int) {
	fmt.Fprintf(os.Stdout, "@@RELIABILITY|%s|%s|%d|%d\n", group, kase, tried, bad)
}

// hostTool finds an e2fsprogs tool on the host (in /usr/sbin, which a
// non-root PATH may lack).
func hostTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(d, name); fileExists(p) {
			return p
		}
	}
	t.Fatalf("%s not found on the host (Debian package e2fsprogs)", name)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// keyFS is what a replayed key file system held after journal recovery:
// the files of the key directory by name (temporary files included) and
// whether e2fsck found it clean.
type keyFS struct {
	files map[string][]byte
	clean bool
	fsck  string // e2fsck's complaint when not clean
}

// readKeyFS recovers the journal of an ext4 image (a private copy in dir),
// checks it, and reads the key directory with debugfs, all on the host
// without mounting.
func readKeyFS(t *testing.T, img []byte, dir, keyDir string) keyFS {
	t.Helper()
	p := filepath.Join(dir, "keyfs.img")
	if err := os.WriteFile(p, img, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(p)
	res := keyFS{files: map[string][]byte{}, clean: true}
	// -p replays the journal and fixes what a preen may (exit 0 or 1),
	// then -fn must find nothing.
	out, err := exec.Command(hostTool(t, "e2fsck"), "-p", p).CombinedOutput()
	if code := exitCode(err); code > 1 {
		res.clean, res.fsck = false, fmt.Sprintf("e2fsck -p exit %d: %s", code, lastLines(string(out), 3))
	}
	if res.clean {
		out, err = exec.Command(hostTool(t, "e2fsck"), "-fn", p).CombinedOutput()
		if code := exitCode(err); code != 0 {
			res.clean, res.fsck = false, fmt.Sprintf("e2fsck -fn exit %d: %s", code, lastLines(string(out), 3))
		}
	}
	dump := filepath.Join(dir, "dump")
	os.RemoveAll(dump)
	if err := os.MkdirAll(dump, 0o700); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dump)
	out, err = exec.Command(hostTool(t, "debugfs"), "-R", "rdump "+keyDir+" "+dump, p).CombinedOutput()
	if err != nil {
		t.Fatalf("debugfs rdump: %v: %s", err, out)
	}
	base := filepath.Join(dump, filepath.Base(keyDir))
	ents, _ := os.ReadDir(base)
	for _, e := range ents {
		fp := filepath.Join(base, e.Name())
		os.Chmod(fp, 0o600)
		b, err := os.ReadFile(fp)
		if err != nil {
			t.Fatalf("read dumped %s: %v", e.Name(), err)
		}
		res.files[e.Name()] = b
	}
	return res
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " | ")
}

// keyFileViolations compares the key directory of a crash state with the
// one before and the one after the operation. Every name in either holds
// the old content or the complete new one: "partial" when it holds other
// bytes, "neither" when it is missing though both before and after have it.
// A new black key NAME must not be on disk while its blob NAME.bb is still
// the old one ("key-ahead-of-blob"). Names in neither (temporary files) are not
// judged here.
func keyFileViolations(before, after, state map[string][]byte) []string {
	names := map[string]bool{}
	for n := range before {
		names[n] = true
	}
	for n := range after {
		names[n] = true
	}
	var bad []string
	side := map[string]string{} // name -> "old", "new" (both when equal)
	for n := range names {
		b, inB := before[n]
		a, inA := after[n]
		s, inS := state[n]
		switch {
		case inS && inB && bytes.Equal(s, b) && inA && bytes.Equal(s, a):
			side[n] = "both"
		case inS && inB && bytes.Equal(s, b), !inS && !inB:
			side[n] = "old"
		case inS && inA && bytes.Equal(s, a), !inS && !inA:
			side[n] = "new"
		case !inS:
			bad = append(bad, "neither:"+n)
		default:
			bad = append(bad, "partial:"+n)
		}
	}
	// The blob is what persists (a black key dies with the power-on) and
	// keystore writes it first: a new blob with the old (or no) black key
	// is recovered by key import. A new black key with the old blob is
	// not: data written with the new key would be lost at the next boot.
	for n := range names {
		if strings.HasSuffix(n, ".bb") {
			continue
		}
		k, bl := side[n], side[n+".bb"]
		if k == "new" && bl == "old" {
			bad = append(bad, "key-ahead-of-blob:"+n)
		}
	}
	sort.Strings(bad)
	return bad
}

// headerCopies decodes both header copies of a volume image: for each, its
// raw bytes when it validates, nil otherwise.
func headerCopies(img []byte) [2][]byte {
	var out [2][]byte
	for i, off := range header.CopyOffsets {
		if int(off)+header.CopySize > len(img) {
			continue
		}
		b := img[off : int(off)+header.CopySize]
		if _, err := header.Unmarshal(b); err == nil {
			out[i] = b
		}
	}
	return out
}

// headerVerdict applies the header invariant to a crash state: at least one
// copy validates and holds the old or the new header, or the new header
// still marked unfinished (format writes it so and clears the mark last;
// open must then refuse the volume as "did not finish", which the guest
// check holds it to); when the device had no valid header before the
// operation, having none is the old state.
func headerVerdict(before, after, state [2][]byte) string {
	known := func(b []byte) bool {
		for _, x := range append(before[:], after[:]...) {
			if x != nil && (bytes.Equal(x, b) || bytes.Equal(x, finishedCopy(b))) {
				return true
			}
		}
		return false
	}
	valid, good := 0, 0
	for _, c := range state {
		if c != nil {
			valid++
			if known(c) {
				good++
			}
		}
	}
	switch {
	case good > 0:
		return ""
	case valid > 0:
		return "header-other"
	case before[0] == nil && before[1] == nil:
		return ""
	default:
		return "header-lost"
	}
}

// finishedCopy is the header copy b with its unfinished-format mark
// cleared, re-encoded; nil when b is not a copy marked unfinished.
func finishedCopy(b []byte) []byte {
	h, err := header.Unmarshal(b)
	if err != nil || !h.Unfinished() {
		return nil
	}
	h.Flags &^= header.FlagFormatting
	out, err := h.Marshal()
	if err != nil {
		return nil
	}
	return out
}

func sum256(b []byte) [32]byte { return sha256.Sum256(b) }

// crashKnob is the integer in environment variable name when it is one and
// at least min, else def: the crash tests' counts (samples, guest cap,
// states per operation), where a bad value keeps the default.
func crashKnob(name string, def, min int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n >= min {
		return n
	}
	return def
}

// crashSeed is the crash tests' sampling seed: CAAMCRYPT_CRASH_SEED, else a
// fixed one, so a default run replays the same states every time.
func crashSeed() int64 {
	seed := int64(20261130)
	if s := os.Getenv("CAAMCRYPT_CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
	}
	return seed
}
