package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func completions(t *testing.T, words ...string) []string {
	t.Helper()
	code, out, errs := runCLI(t, "", append([]string{completeCommand}, words...)...)
	if code != 0 || errs != "" {
		t.Fatalf("__complete %q: exit %d, stderr %q", words, code, errs)
	}
	return strings.Fields(out)
}

func TestComplete(t *testing.T) {
	cases := []struct {
		words       []string
		has, hasNot []string
	}{
		{[]string{""}, []string{"key", "format", "open", "close", "status", "header", "doctor"}, []string{"create", "--force"}},
		{[]string{"key", "cr"}, []string{"create", "import", "derive", "info"}, []string{"format"}},
		{[]string{"--key-dir", "/k", "key", ""}, []string{"create"}, []string{"format"}},
		{[]string{"key", "create", "--"}, []string{"--size", "--force", "--key-dir", "--help"}, []string{"--mount", "create"}},
		{[]string{"format", "--enc=ecb", "--s"}, []string{"--sector-size", "--save-key"}, []string{"--size"}},
		// After an option that takes a value: nothing, so bash offers files.
		{[]string{"format", "--sector-size", ""}, nil, []string{"--name", "key"}},
		{[]string{"open", "--key-dir", ""}, nil, []string{"--name"}},
		{[]string{"header", ""}, []string{"backup", "restore", "dump"}, nil},
		{[]string{""}, []string{"encrypt", "reencrypt", "decrypt"}, nil},
		{[]string{"encrypt", "--"}, []string{"--dry-run", "--json", "--save-key", "--sector-size"}, []string{"--no-grow", "--mount"}},
		{[]string{"decrypt", "--"}, []string{"--dry-run", "--json", "--no-grow"}, []string{"--save-key"}},
		{[]string{"reencrypt", "--"}, []string{"--dry-run", "--json", "--key", "--save-key"}, []string{"--no-grow", "--name"}},
	}
	for _, c := range cases {
		got := completions(t, c.words...)
		set := map[string]bool{}
		for _, g := range got {
			if set[g] {
				t.Errorf("%q: %q offered twice", c.words, g)
			}
			set[g] = true
		}
		for _, w := range c.has {
			if !set[w] {
				t.Errorf("%q: %q not offered (got %q)", c.words, w, got)
			}
		}
		for _, w := range c.hasNot {
			if set[w] {
				t.Errorf("%q: %q offered (got %q)", c.words, w, got)
			}
		}
	}
}

// The shipped bash script, driven by bash with the real program.
func TestBashCompletionScript(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash")
	}
	bin := filepath.Join(t.TempDir(), "caamcrypt")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	script, err := filepath.Abs("../../packaging/completion/caamcrypt.bash")
	if err != nil {
		t.Fatal(err)
	}
	run := func(line string) string {
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = "'" + w + "'"
		}
		prog := "source '" + script + "'; COMP_WORDS=(" + strings.Join(q, " ") + "); COMP_CWORD=" +
			strconv.Itoa(len(words)-1) + "; _caamcrypt; printf '%s\\n' \"${COMPREPLY[@]}\""
		cmd := exec.Command(bash, "-c", prog)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Join(strings.Fields(string(out)), " ")
	}
	if got := run("caamcrypt key cr"); got != "create" {
		t.Errorf("caamcrypt key cr<TAB> = %q, want create", got)
	}
	if got := run("caamcrypt format --sector-s"); got != "--sector-size" {
		t.Errorf("caamcrypt format --sector-s<TAB> = %q, want --sector-size", got)
	}
	if got := run("caamcrypt ope"); got != "open" {
		t.Errorf("caamcrypt ope<TAB> = %q, want open", got)
	}
}
