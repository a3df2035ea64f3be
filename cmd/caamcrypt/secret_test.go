package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

func stdinContext(s string) *cli.Context {
	return cli.NewContext(&cli.App{Reader: strings.NewReader(s)}, nil, nil)
}

// The passphrase must come back in the buffer it was read into, with the
// line end and everything after it wiped: a converted copy would leave an
// unwiped passphrase on the heap that Derive's wipe never reaches.
func TestReadSecretFirstLineLeavesNoCopy(t *testing.T) {
	const in = "correct horse\r\nsecond line of the file\n"
	b, err := readSecret(stdinContext(in), "-", true)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "correct horse" {
		t.Fatalf("passphrase %q, want %q", b, "correct horse")
	}
	if cap(b) < len(in) {
		t.Fatalf("passphrase is a %d-byte copy, not the %d-byte read buffer: the original stays unwiped", cap(b), len(in))
	}
	for i, c := range b[len(b):len(in)] {
		if c != 0 {
			t.Fatalf("byte %d after the passphrase is %q, want wiped", len(b)+i, c)
		}
	}
}

// A first line longer than what readSecret reads must be refused, not cut:
// a silently truncated passphrase derives a key other tools do not.
func TestReadSecretRefusesOverlongLine(t *testing.T) {
	_, err := readSecret(stdinContext(strings.Repeat("p", 5000)+"\n"), "-", true)
	if !errors.Is(err, fail.ErrUsage) {
		t.Fatalf("readSecret of a 5000-byte line: %v, want a usage error", err)
	}
	if b, err := readSecret(stdinContext(strings.Repeat("p", 100)), "-", true); err != nil || len(b) != 100 {
		t.Fatalf("readSecret of a 100-byte line without newline: %d bytes, %v", len(b), err)
	}
}
