package packaging

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

const unitPath = "systemd/caamcrypt.service"

// unitDirectives reads a unit file into section -> key -> values (a key may
// repeat, e.g. After=).
func unitDirectives(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: unparsable line %q", path, line)
			}
			out[section][strings.TrimSpace(k)] = append(out[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// words splits every value of a list-valued key (After=a b, After=c).
func words(vals []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range vals {
		for _, w := range strings.Fields(v) {
			m[w] = true
		}
	}
	return m
}

// TestUnitOrdering pins the ordering decisions packaging/README.md explains:
// an early-boot oneshot that opens before local-fs.target and closes at
// shutdown before umount.target.
func TestUnitOrdering(t *testing.T) {
	u := unitDirectives(t, unitPath)
	one := func(section, key, want string) {
		t.Helper()
		got := u[section][key]
		if len(got) != 1 || got[0] != want {
			t.Errorf("[%s] %s = %q, want exactly %q", section, key, got, want)
		}
	}
	one("Unit", "DefaultDependencies", "no")
	one("Unit", "Conflicts", "umount.target")
	one("Service", "Type", "oneshot")
	one("Service", "RemainAfterExit", "yes")
	one("Service", "KeyringMode", "shared")
	one("Service", "ExecStart", "/usr/bin/caamcrypt open --all")
	one("Service", "ExecStop", "/usr/bin/caamcrypt close --all")
	one("Install", "WantedBy", "local-fs.target")

	before := words(u["Unit"]["Before"])
	for _, w := range []string{"local-fs.target", "umount.target"} {
		if !before[w] {
			t.Errorf("Before= lacks %s (have %v)", w, u["Unit"]["Before"])
		}
	}
	after := words(u["Unit"]["After"])
	for _, w := range []string{"systemd-udev-trigger.service", "systemd-modules-load.service", "systemd-remount-fs.service"} {
		if !after[w] {
			t.Errorf("After= lacks %s (have %v)", w, u["Unit"]["After"])
		}
	}
	// Ordering after local-fs.target (or sysinit/basic) would be a cycle
	// with Before=local-fs.target.
	for _, w := range []string{"local-fs.target", "sysinit.target", "basic.target"} {
		if after[w] {
			t.Errorf("After=%s contradicts Before=local-fs.target", w)
		}
	}
}

// verifyRoot builds a throw-away root holding the unit (content given) in
// /etc/systemd/system and, if withBinary, an executable stub where the
// unit's ExecStart= points, so systemd-analyze verify checks the real unit
// text including its command path.
func verifyRoot(t *testing.T, unit []byte, withBinary bool) string {
	t.Helper()
	root := t.TempDir()
	unitDir := filepath.Join(root, "etc/systemd/system")
	if err := os.MkdirAll(unitDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(unitDir, "caamcrypt.service"), unit, 0o644); err != nil {
		t.Fatal(err)
	}
	if withBinary {
		exe := strings.Fields(unitDirectives(t, unitPath)["Service"]["ExecStart"][0])[0]
		bin := filepath.Join(root, exe)
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// analyzeVerify runs systemd-analyze verify on caamcrypt.service inside root
// and returns its exit status and the output lines that concern our unit.
func analyzeVerify(t *testing.T, tool, root string) (exitCode int, ours []string, all string) {
	t.Helper()
	cmd := exec.Command(tool, "verify", "--root="+root, "caamcrypt.service")
	out, err := cmd.CombinedOutput()
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s: %v", tool, err)
		}
		exitCode = ee.ExitCode()
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "caamcrypt") {
			ours = append(ours, l)
		}
	}
	return exitCode, ours, string(out)
}

// TestUnitVerifies runs systemd-analyze verify on the shipped unit: it must
// exit 0 and say nothing about caamcrypt.service (systemd only warns, with
// exit 0, about unknown keys or bad values, so the output is checked too).
// Two broken variants prove the check sees such mistakes.
func TestUnitVerifies(t *testing.T) {
	tool := testutil.RequireCommand(t, "systemd-analyze")
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}

	code, ours, all := analyzeVerify(t, tool, verifyRoot(t, unit, true))
	if code != 0 || len(ours) > 0 {
		t.Errorf("systemd-analyze verify %s: exit %d, output:\n%s", unitPath, code, all)
	}

	t.Run("control/typo", func(t *testing.T) {
		bad := strings.Replace(string(unit), "Type=oneshot", "Type=oneshott", 1)
		bad = strings.Replace(bad, "RemainAfterExit=", "RemainAfterExt=", 1)
		if bad == string(unit) {
			t.Fatal("control: unit has no Type=oneshot to break")
		}
		_, ours, all := analyzeVerify(t, tool, verifyRoot(t, []byte(bad), true))
		if !strings.Contains(all, "oneshott") || !strings.Contains(all, "RemainAfterExt") || len(ours) == 0 {
			t.Errorf("systemd-analyze verify missed a broken Type= and an unknown key; output:\n%s", all)
		}
	})
	t.Run("control/no-binary", func(t *testing.T) {
		code, _, all := analyzeVerify(t, tool, verifyRoot(t, unit, false))
		if code == 0 || !strings.Contains(all, "caamcrypt") {
			t.Errorf("systemd-analyze verify accepted a unit whose ExecStart binary is missing: exit %d, output:\n%s", code, all)
		}
	})
}

// TestUnitReferencesExist: every unit the ordering names exists in this
// machine's systemd (verify --root does not load them, so a misspelt name
// would pass it silently).
func TestUnitReferencesExist(t *testing.T) {
	dir := "/usr/lib/systemd/system"
	testutil.RequirePath(t, dir+"/local-fs.target", "systemd's own units, to check the names the unit refers to")
	u := unitDirectives(t, unitPath)
	for _, key := range []string{"After", "Before", "Wants", "Requires", "Conflicts"} {
		for w := range words(u["Unit"][key]) {
			if _, err := os.Stat(filepath.Join(dir, w)); err != nil {
				t.Errorf("%s=%s: no such unit in %s", key, w, dir)
			}
		}
	}
	for w := range words(u["Install"]["WantedBy"]) {
		if _, err := os.Stat(filepath.Join(dir, w)); err != nil {
			t.Errorf("WantedBy=%s: no such unit in %s", w, dir)
		}
	}
}
