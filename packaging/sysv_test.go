package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

const initScript = "sysv/caamcrypt"

// stubCaamcrypt stands in for the binary in tests of the init script only:
// it appends its arguments and the CAAMCRYPT_* settings it was given to a
// log, and exits with STUB_RC_<first argument> (default 0).
const stubCaamcrypt = `#!/bin/sh
{
	printf 'call:%s\n' "$*"
	env | grep '^CAAMCRYPT_' | grep -v '^CAAMCRYPT_DEFAULTS=' | sort
} >>"$STUB_LOG"
case $1 in
open) exit "${STUB_RC_open:-0}" ;;
close) exit "${STUB_RC_close:-0}" ;;
status) exit "${STUB_RC_status:-0}" ;;
esac
exit 0
`

// initEnv is one run's sandbox: stub binary, table, defaults file, log.
type initEnv struct {
	dir, stub, log, table, defaults string
}

func newInitEnv(t *testing.T) initEnv {
	t.Helper()
	// Read the script here so that go test's result cache, which only sees
	// files this process opens, is invalidated when the script changes.
	if _, err := os.ReadFile(initScript); err != nil {
		t.Fatal(err)
	}
	d := t.TempDir()
	e := initEnv{
		dir:      d,
		stub:     filepath.Join(d, "caamcrypt"),
		log:      filepath.Join(d, "calls.log"),
		table:    filepath.Join(d, "caamtab"),
		defaults: filepath.Join(d, "default-caamcrypt"),
	}
	if err := os.WriteFile(e.stub, []byte(stubCaamcrypt), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.table, []byte("data /dev/null - fs=none\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs the init script under shell with action and extra environment;
// it returns the exit code and the stub's log lines.
func (e initEnv) run(t *testing.T, shell []string, action string, env ...string) (int, []string) {
	t.Helper()
	script, err := filepath.Abs(initScript)
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{}, shell[1:]...), script)
	if action != "" {
		args = append(args, action)
	}
	cmd := exec.Command(shell[0], args...)
	cmd.Env = append([]string{
		"PATH=/usr/bin:/bin",
		"CAAMCRYPT=" + e.stub,
		"CAAMCRYPT_CONFIG=" + e.table,
		"CAAMCRYPT_DEFAULTS=" + e.defaults,
		"STUB_LOG=" + e.log,
	}, env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %v: %v", shell, err)
		}
		code = ee.ExitCode()
	}
	t.Logf("%s %s: exit %d\n%s", strings.Join(shell, " "), action, code, out)
	data, err := os.ReadFile(e.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return code, lines
}

// calls keeps only the stub's "call:" lines.
func calls(log []string) []string {
	var c []string
	for _, l := range log {
		if s, ok := strings.CutPrefix(l, "call:"); ok {
			c = append(c, s)
		}
	}
	return c
}

// shells are the interpreters the script must work under: the system sh
// (dash on Debian) and busybox sh, as on small images.
func shells(t *testing.T) map[string][]string {
	t.Helper()
	m := map[string][]string{"sh": {testutil.RequireCommand(t, "sh")}}
	if p, err := exec.LookPath("busybox"); err == nil {
		m["busybox"] = []string{p, "sh"}
	} else {
		t.Log("busybox not on PATH: busybox sh cases not run")
	}
	return m
}

func TestInitScriptSyntax(t *testing.T) {
	if _, err := os.ReadFile(initScript); err != nil { // see newInitEnv
		t.Fatal(err)
	}
	for name, sh := range shells(t) {
		args := append(append([]string{}, sh[1:]...), "-n", initScript)
		if out, err := exec.Command(sh[0], args...).CombinedOutput(); err != nil {
			t.Errorf("%s -n %s: %v\n%s", name, initScript, err, out)
		}
	}
	t.Run("shellcheck", func(t *testing.T) {
		sc := testutil.RequireCommand(t, "shellcheck")
		if out, err := exec.Command(sc, "-s", "sh", initScript).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", initScript, err, out)
		}
	})
}

func TestInitScriptActions(t *testing.T) {
	cases := []struct {
		action    string
		env       []string
		wantCode  int
		wantCalls []string
	}{
		{"start", nil, 0, []string{"open --all"}},
		{"start", []string{"STUB_RC_open=5"}, 5, []string{"open --all"}},
		{"stop", nil, 0, []string{"close --all"}},
		{"stop", []string{"STUB_RC_close=4"}, 4, []string{"close --all"}},
		{"status", []string{"STUB_RC_status=6"}, 6, []string{"status"}},
		{"restart", nil, 0, []string{"close --all", "open --all"}},
		// A failed close still reopens (open is idempotent); the close
		// failure is reported.
		{"restart", []string{"STUB_RC_close=4"}, 4, []string{"close --all", "open --all"}},
		{"restart", []string{"STUB_RC_open=3"}, 3, []string{"close --all", "open --all"}},
		{"force-reload", nil, 0, []string{"close --all", "open --all"}},
		{"bogus", nil, 2, nil},
		{"", nil, 2, nil},
	}
	for name, sh := range shells(t) {
		for _, c := range cases {
			t.Run(name+"/"+c.action+strings.Join(c.env, ","), func(t *testing.T) {
				e := newInitEnv(t)
				code, log := e.run(t, sh, c.action, c.env...)
				if code != c.wantCode {
					t.Errorf("exit %d, want %d", code, c.wantCode)
				}
				if got := calls(log); !reflect.DeepEqual(got, c.wantCalls) {
					t.Errorf("caamcrypt called with %q, want %q", got, c.wantCalls)
				}
			})
		}
	}
}

// TestInitScriptNoTable: without a volume table start and stop do nothing
// and succeed (a fresh image without volumes boots cleanly).
func TestInitScriptNoTable(t *testing.T) {
	for name, sh := range shells(t) {
		for _, action := range []string{"start", "stop"} {
			e := newInitEnv(t)
			code, log := e.run(t, sh, action, "CAAMCRYPT_CONFIG="+filepath.Join(e.dir, "missing"))
			if code != 0 || len(calls(log)) != 0 {
				t.Errorf("%s %s without table: exit %d, calls %q; want 0 and none", name, action, code, calls(log))
			}
		}
	}
}

// TestInitScriptMissingBinary: a wrong CAAMCRYPT path is a failure (1), not
// a silent success.
func TestInitScriptMissingBinary(t *testing.T) {
	for name, sh := range shells(t) {
		e := newInitEnv(t)
		code, _ := e.run(t, sh, "start", "CAAMCRYPT="+filepath.Join(e.dir, "nonexistent"))
		if code != 1 {
			t.Errorf("%s start with missing binary: exit %d, want 1", name, code)
		}
	}
}

// TestInitScriptDefaults: /etc/default/caamcrypt is parsed, not sourced:
// CAAMCRYPT_* values reach caamcrypt literally (quotes removed), other names
// are ignored, and shell syntax in values is never run.
func TestInitScriptDefaults(t *testing.T) {
	for name, sh := range shells(t) {
		t.Run(name, func(t *testing.T) {
			e := newInitEnv(t)
			pwned := filepath.Join(e.dir, "pwned")
			defaults := strings.Join([]string{
				"# comment",
				"",
				`  CAAMCRYPT_LOG_LEVEL="debug"`,
				"CAAMCRYPT_KEY_DIR=/data/my keys/$(touch " + pwned + ")",
				"CAAMCRYPT_CAAM_DEVICE='/dev/caam-keygen'",
				"FOO=bar",
				"CAAMCRYPT_lower=1",
				"garbage line `touch " + pwned + "`",
				"CAAMCRYPT_LOG_FORMAT=json", // last line without newline
			}, "\n")
			if err := os.WriteFile(e.defaults, []byte(defaults), 0o644); err != nil {
				t.Fatal(err)
			}
			code, log := e.run(t, sh, "start")
			if code != 0 {
				t.Fatalf("exit %d, want 0", code)
			}
			var env []string
			for _, l := range log {
				if !strings.HasPrefix(l, "call:") {
					env = append(env, l)
				}
			}
			want := []string{
				"CAAMCRYPT_CAAM_DEVICE=/dev/caam-keygen",
				"CAAMCRYPT_CONFIG=" + e.table,
				"CAAMCRYPT_KEY_DIR=/data/my keys/$(touch " + pwned + ")",
				"CAAMCRYPT_LOG_FORMAT=json",
				"CAAMCRYPT_LOG_LEVEL=debug",
			}
			if !reflect.DeepEqual(env, want) {
				t.Errorf("caamcrypt saw\n%q\nwant\n%q", env, want)
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Errorf("a command in the defaults file was run")
			}
		})
	}
}
