package main

import (
	"bytes"
	"strings"
	"testing"
)

// walkArgs names every word of a command line; reorderArgs,
// unknownCommand and complete rely on these kinds.
func TestWalkArgs(t *testing.T) {
	app := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	names := map[wordKind]string{wordOption: "opt", wordGlobal: "global", wordCommand: "cmd",
		wordHelp: "help", wordUnknown: "unknown", wordPositional: "arg", wordEnd: "end"}
	cases := []struct{ in, want string }{
		{"key create NAME --size 32", "cmd:key cmd:create arg:NAME opt:--size,32"},
		{"--key-dir /k key frob x", "opt:--key-dir,/k cmd:key unknown:frob arg:x"},
		{"open X --config /y --mount /m", "cmd:open arg:X global:--config,/y opt:--mount,/m"},
		{"help frob", "help:help unknown:frob"},
		{"key help create", "cmd:key help:help arg:create"},
		{"key info -- -odd --json", "cmd:key cmd:info end:--,-odd,--json"},
		{"open NAME key", "cmd:open arg:NAME arg:key"},
	}
	for _, c := range cases {
		var got []string
		for _, w := range walkArgs(app, strings.Fields(c.in)).words {
			got = append(got, names[w.kind]+":"+strings.Join(w.args, ","))
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("walk(%q) = %q, want %q", c.in, strings.Join(got, " "), c.want)
		}
	}
	if w := walkArgs(app, []string{"format", "--sector-size"}); !w.words[1].valueDue {
		t.Errorf("format --sector-size: the value is not marked due")
	}
}
