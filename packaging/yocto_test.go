package packaging

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

const (
	layerDir     = "yocto/meta-caamcrypt"
	caamcryptBB  = layerDir + "/recipes-security/caamcrypt/caamcrypt_git.bb"
	caamsimBB    = layerDir + "/recipes-kernel/caamsim/caamsim_git.bb"
	oeqaCase     = layerDir + "/lib/oeqa/runtime/cases/caamcrypt.py"
	repoRoot     = ".."
	caamsimSrcIn = "test/caamsim"
)

// bbAssign matches one BitBake assignment after continuation lines are
// joined: VAR[:override] op "value".
var bbAssign = regexp.MustCompile(`^([A-Za-z0-9_${}:.-]+)\s*(\?\?=|\?=|\+=|=\+|\.=|=\.|:=|=)\s*"(.*)"\s*$`)

// bbVars is what this test needs of a recipe: the value of each plain "="
// or "?=" assignment, the words of every "+=", and the raw text.
type bbVars struct {
	set  map[string]string
	add  map[string][]string
	text string
}

// parseBB reads the assignments of a .bb file. It is no BitBake parser:
// it knows nothing of overrides or expansion, only enough to pin the
// variables the recipes must set.
func parseBB(t *testing.T, path string) bbVars {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := bbVars{set: map[string]string{}, add: map[string][]string{}, text: string(data)}
	var logical []string
	cur := ""
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := sc.Text()
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur += s + " "
			continue
		}
		logical = append(logical, cur+line)
		cur = ""
	}
	for _, l := range logical {
		m := bbAssign.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		name, op, val := m[1], m[2], strings.Join(strings.Fields(m[3]), " ")
		switch op {
		case "=", "?=", "??=", ":=":
			v.set[name] = val
		case "+=", "=+", ".=", "=.":
			v.add[name] = append(v.add[name], strings.Fields(val)...)
		}
	}
	return v
}

func (v bbVars) want(t *testing.T, name, value string) {
	t.Helper()
	got, ok := v.set[name]
	if !ok || got != value {
		t.Errorf("%s = %q (set: %v), want %q", name, got, ok, value)
	}
}

func (v bbVars) wantWords(t *testing.T, name string, words ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, w := range append(strings.Fields(v.set[name]), v.add[name]...) {
		have[w] = true
	}
	for _, w := range words {
		if !have[w] {
			t.Errorf("%s lacks %q", name, w)
		}
	}
}

// inherits lists the classes of every inherit line.
func (v bbVars) inherits() map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(v.text, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), "inherit "); ok {
			for _, c := range strings.Fields(rest) {
				m[c] = true
			}
		}
	}
	return m
}

// licMD5 checks one file:// entry of LIC_FILES_CHKSUM against the file in
// the repository, the way BitBake does (lines beginline..endline, newline
// included), so a changed licence text fails here and not in a build.
func licMD5(t *testing.T, entry, dir string) {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(entry, "file://"), ";")
	params := map[string]string{}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(p, "=")
		params[k] = val
	}
	data, err := os.ReadFile(filepath.Join(dir, parts[0]))
	if err != nil {
		t.Fatalf("LIC_FILES_CHKSUM %s: %v", entry, err)
	}
	if b, e := params["beginline"], params["endline"]; b != "" || e != "" {
		lines := strings.SplitAfter(string(data), "\n")
		bi, _ := strconv.Atoi(b)
		ei, _ := strconv.Atoi(e)
		if bi < 1 || ei < bi || ei > len(lines) {
			t.Fatalf("LIC_FILES_CHKSUM %s: bad line range", entry)
		}
		data = []byte(strings.Join(lines[bi-1:ei], ""))
	}
	sum := md5.Sum(data)
	if got := hex.EncodeToString(sum[:]); got != params["md5"] {
		t.Errorf("LIC_FILES_CHKSUM %s: file's md5 is %s; update the recipe", entry, got)
	}
}

func TestCaamcryptRecipe(t *testing.T) {
	v := parseBB(t, caamcryptBB)

	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	module := regexp.MustCompile(`(?m)^module\s+(\S+)`).FindSubmatch(gomod)
	if module == nil {
		t.Fatal("go.mod has no module line")
	}
	v.want(t, "GO_IMPORT", string(module[1]))
	v.want(t, "GO_INSTALL", "${GO_IMPORT}/cmd/caamcrypt")
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd/caamcrypt/main.go")); err != nil {
		t.Errorf("GO_INSTALL names cmd/caamcrypt: %v", err)
	}
	v.want(t, "CGO_ENABLED", "1")
	v.want(t, "GO_LINKSHARED", "")
	v.want(t, "SYSTEMD_SERVICE:${PN}", "caamcrypt.service")
	v.want(t, "INITSCRIPT_NAME", "caamcrypt")
	v.wantWords(t, "DEPENDS", "libdevmapper")
	v.wantWords(t, "RDEPENDS:${PN}", "e2fsprogs-mke2fs", "e2fsprogs-e2fsck")
	inh := v.inherits()
	for _, c := range []string{"go-mod", "pkgconfig", "systemd", "update-rc.d"} {
		if !inh[c] {
			t.Errorf("recipe does not inherit %s", c)
		}
	}

	// The licence entry is relative to S, where the repository sits at
	// src/${GO_IMPORT}.
	lic := strings.ReplaceAll(v.set["LIC_FILES_CHKSUM"], "src/${GO_IMPORT}/", "")
	if lic == "" {
		t.Error("LIC_FILES_CHKSUM not set")
	} else {
		licMD5(t, lic, repoRoot)
	}

	// Every packaging file do_install copies exists, including the unit
	// and init script the class variables name.
	installed := regexp.MustCompile(`\$\{pkgdir\}/(\S+)`).FindAllStringSubmatch(v.text, -1)
	seen := map[string]bool{}
	for _, m := range installed {
		seen[m[1]] = true
		if _, err := os.Stat(m[1]); err != nil {
			t.Errorf("do_install copies packaging/%s: %v", m[1], err)
		}
	}
	for _, f := range []string{"systemd/" + v.set["SYSTEMD_SERVICE:${PN}"], "sysv/" + v.set["INITSCRIPT_NAME"], "caamtab.example"} {
		if !seen[f] {
			t.Errorf("do_install does not install packaging/%s", f)
		}
	}
}

func TestCaamsimRecipe(t *testing.T) {
	v := parseBB(t, caamsimBB)
	if !v.inherits()["module"] {
		t.Error("caamsim recipe does not inherit module")
	}
	if !strings.HasSuffix(v.set["S"], "/"+caamsimSrcIn) {
		t.Errorf("S = %q, want the repository's %s", v.set["S"], caamsimSrcIn)
	}
	src := filepath.Join(repoRoot, caamsimSrcIn)
	for _, f := range []string{"Kbuild", "Makefile"} {
		if _, err := os.Stat(filepath.Join(src, f)); err != nil {
			t.Errorf("caamsim source: %v", err)
		}
	}
	// module.bbclass passes KERNEL_SRC; the Makefile must build against it.
	mk, err := os.ReadFile(filepath.Join(src, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mk), "KERNEL_SRC") {
		t.Error("test/caamsim/Makefile ignores KERNEL_SRC, which module.bbclass passes")
	}
	licMD5(t, v.set["LIC_FILES_CHKSUM"], src)
}

// TestOEQACaseCompiles byte-compiles the oeqa case (it can only run under
// bitbake -c testimage, which this machine cannot do).
func TestOEQACaseCompiles(t *testing.T) {
	py := testutil.RequireCommand(t, "python3")
	if _, err := os.ReadFile(oeqaCase); err != nil { // go test cache dependency
		t.Fatal(err)
	}
	code := `import sys, py_compile; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)`
	out, err := exec.Command(py, "-c", code, oeqaCase, filepath.Join(t.TempDir(), "c.pyc")).CombinedOutput()
	if err != nil {
		t.Errorf("py_compile %s: %v\n%s", oeqaCase, err, out)
	}
}

const (
	goModsInc   = layerDir + "/recipes-security/caamcrypt/caamcrypt-go-mods.inc"
	licensesInc = layerDir + "/recipes-security/caamcrypt/caamcrypt-licenses.inc"
	layerConf   = layerDir + "/conf/layer.conf"
)

// TestLayerSeries: wrynose is the series BitBake checks here (make
// yocto-check); the recipe inherits go-mod-update-modules, which walnascar
// and older lack (docs/caam-abi.md §13).
func TestLayerSeries(t *testing.T) {
	v := parseBB(t, layerConf)
	series := strings.Fields(v.set["LAYERSERIES_COMPAT_caamcrypt"])
	have := map[string]bool{}
	for _, s := range series {
		have[s] = true
	}
	if !have["wrynose"] {
		t.Errorf("LAYERSERIES_COMPAT_caamcrypt = %q lacks wrynose", series)
	}
	for _, old := range []string{"walnascar", "styhead", "scarthgap", "kirkstone"} {
		if have[old] && parseBB(t, caamcryptBB).inherits()["go-mod-update-modules"] {
			t.Errorf("LAYERSERIES_COMPAT_caamcrypt names %s, which has no go-mod-update-modules.bbclass", old)
		}
	}
}

// TestGoModsInc: the recipe requires both generated files (a missing one
// is a parse error, not a compile that reaches for the network), and every
// module they fetch is in go.sum at that version, so a go.mod change
// without `make yocto-update-modules` fails here. make yocto-check proves
// the list complete by building offline from it.
func TestGoModsInc(t *testing.T) {
	v := parseBB(t, caamcryptBB)
	for _, inc := range []string{"${BPN}-go-mods.inc", "${BPN}-licenses.inc"} {
		if !regexp.MustCompile(`(?m)^require\s+` + regexp.QuoteMeta(inc) + `\s*$`).MatchString(v.text) {
			t.Errorf("recipe does not `require %s`", inc)
		}
	}
	sum, err := os.ReadFile(filepath.Join(repoRoot, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	inSum := map[string]bool{}
	for _, l := range strings.Split(string(sum), "\n") {
		if f := strings.Fields(l); len(f) == 3 {
			inSum[f[0]+"@"+strings.TrimSuffix(f[1], "/go.mod")] = true
		}
	}
	mods := parseBB(t, goModsInc)
	entries := 0
	for _, u := range mods.add["SRC_URI"] {
		path, params, ok := strings.Cut(strings.TrimPrefix(u, "gomod://"), ";")
		if !ok || !strings.HasPrefix(u, "gomod://") {
			t.Errorf("go-mods.inc: unexpected SRC_URI entry %q", u)
			continue
		}
		entries++
		ver := regexp.MustCompile(`(?:^|;)version=([^;]+)`).FindStringSubmatch(params)
		if ver == nil || !strings.Contains(params, "sha256sum=") {
			t.Errorf("go-mods.inc: %q lacks version= or sha256sum=", u)
			continue
		}
		if !inSum[path+"@"+ver[1]] {
			t.Errorf("go-mods.inc fetches %s@%s, which go.sum does not list: run make yocto-update-modules", path, ver[1])
		}
	}
	if entries == 0 {
		t.Error("go-mods.inc has no gomod:// entries")
	}
	lic := parseBB(t, licensesInc)
	if strings.Contains(lic.text, "Unknown") {
		t.Error("licenses.inc has a licence marked Unknown: add its md5 to files/license-hashes.csv")
	}
	for _, want := range []string{"BSD-2-Clause", "BSD-3-Clause", "MIT"} {
		if !strings.Contains(strings.Join(lic.add["LICENSE"], " "), want) {
			t.Errorf("licenses.inc LICENSE lacks %s", want)
		}
	}
}

// TestPinnedSrcrev: both recipes fetch one fixed commit (no AUTOREV:
// offline builds), and that commit has this tree's go.mod and go.sum, or
// the committed module list would not match the source it builds.
func TestPinnedSrcrev(t *testing.T) {
	a, b := parseBB(t, caamcryptBB).set["SRCREV"], parseBB(t, caamsimBB).set["SRCREV"]
	if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(a) {
		t.Fatalf("caamcrypt SRCREV = %q, want a full commit id", a)
	}
	if a != b {
		t.Errorf("caamsim SRCREV %s differs from caamcrypt's %s", b, a)
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git: cannot compare the pinned commit")
	}
	if out, _ := exec.Command(git, "-C", repoRoot, "rev-parse", "--is-shallow-repository").Output(); strings.TrimSpace(string(out)) != "false" {
		t.Skip("not a full git clone: the pinned commit may be absent")
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		pinned, err := exec.Command(git, "-C", repoRoot, "show", a+":"+f).Output()
		if err != nil {
			t.Errorf("git show %s:%s: %v", a, f, err)
			continue
		}
		here, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		if string(pinned) != string(here) {
			t.Errorf("%s at the pinned SRCREV %s differs from this tree's: bump SRCREV or regenerate the .inc files", f, a)
		}
	}
}

// TestRuntimeDepsAndKernel: the runtime library, the dm-crypt module and
// the kernel fragments.
func TestRuntimeDepsAndKernel(t *testing.T) {
	v := parseBB(t, caamcryptBB)
	v.wantWords(t, "RDEPENDS:${PN}", "libdevmapper")
	v.wantWords(t, "RRECOMMENDS:${PN}", "kernel-module-dm-crypt")
	if !strings.Contains(v.set["GO_EXTRA_LDFLAGS:append"], "-X main.version=${PV}") {
		t.Errorf("GO_EXTRA_LDFLAGS:append = %q does not stamp main.version", v.set["GO_EXTRA_LDFLAGS:append"])
	}
	frags := map[string][]string{
		layerDir + "/recipes-kernel/linux/linux-yocto/caamcrypt.cfg":       {"CONFIG_DM_CRYPT=", "CONFIG_KEYS=y", "CONFIG_BLK_DEV_LOOP="},
		layerDir + "/recipes-kernel/linux/linux-imx/caamcrypt-caam-tk.cfg": {"CONFIG_CRYPTO_DEV_FSL_CAAM=y", "CONFIG_CRYPTO_DEV_FSL_CAAM_JR=y", "CONFIG_CRYPTO_DEV_FSL_CAAM_CRYPTO_API=y", "CONFIG_CRYPTO_DEV_FSL_CAAM_TK_API=y", "CONFIG_DM_CRYPT="},
	}
	for f, want := range frags {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, w := range want {
			if !strings.Contains(string(data), "\n"+w) {
				t.Errorf("%s lacks %s", f, w)
			}
		}
	}
	app := parseBB(t, layerDir+"/recipes-kernel/linux/linux-yocto_%.bbappend")
	if !strings.Contains(app.set["SRC_URI:append"], "file://caamcrypt.cfg") {
		t.Error("linux-yocto bbappend does not add file://caamcrypt.cfg")
	}
}
