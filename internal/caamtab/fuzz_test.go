package caamtab

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

// FuzzParse parses arbitrary caamtab text. Properties: entries or an error,
// never both; a syntax error is a *ParseError (exit code 2 through
// fail.ErrUsage) naming a line that exists; every accepted entry has a safe
// unique name, a device in one of the accepted forms, a type, a line number
// in increasing order, and only plain volumes carry a key.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("testdata/caamtab.example")
	if err != nil {
		f.Fatal(err)
	}
	testutil.Seed(f, string(example))
	for _, s := range []string{
		"",
		"a /dev/vda\n",
		"a /dev/vda - mount=/m,nofail\nb LABEL=b k type=plain,sector-size=4096,ro\n",
		"a /dev/vda\na /dev/vdb\n",
		"a UUID= -\n",
		"a LABEL=x - mount=rel\n",
		"a /dev/vda - nofial\n",
		"a /dev/vda - mount=/m,mount=/n\n",
		"a/b /dev/vda\n",
		"../x /dev/vda\n",
		"a\x01b /dev/vda\n",
		"a /dev/vda k sector-size=-1\n",
		"a /dev/vda k type=plain,sector-size=99999999999999999999\n",
		"a /dev/vda - keyring=@x,,\n",
		"# only a comment\n\t \n",
		strings.Repeat("n", 128) + " /dev/vda\n",
	} {
		testutil.Seed(f, s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		es, err := Parse(strings.NewReader(s))
		if err != nil {
			if es != nil {
				t.Fatalf("Parse returned %d entries and an error: %v", len(es), err)
			}
			var pe *ParseError
			if errors.As(err, &pe) {
				if !errors.Is(err, fail.ErrUsage) {
					t.Fatalf("parse error is not a usage error: %v", err)
				}
				if pe.Line < 1 || pe.Line > strings.Count(s, "\n")+1 {
					t.Fatalf("error names line %d of a %d-line input", pe.Line, strings.Count(s, "\n")+1)
				}
			}
			return
		}
		seen := map[string]bool{}
		last := 0
		for _, e := range es {
			if msg := checkName(e.Name); msg != "" || seen[e.Name] {
				t.Fatalf("accepted name %q (dup %v): %s", e.Name, seen[e.Name], msg)
			}
			seen[e.Name] = true
			if msg := checkDevice(e.Device); msg != "" {
				t.Fatalf("accepted device %q: %s", e.Device, msg)
			}
			if e.Line <= last {
				t.Fatalf("line numbers not increasing: %d after %d", e.Line, last)
			}
			last = e.Line
			switch e.Options.Type {
			case TypePlain:
				if e.Key == "" {
					t.Fatalf("plain entry %q without a key", e.Name)
				}
			case TypeCaamcrypt:
				if e.Key != "" {
					t.Fatalf("caamcrypt entry %q with key %q", e.Name, e.Key)
				}
			default:
				t.Fatalf("entry %q has type %q", e.Name, e.Options.Type)
			}
			if ss := e.Options.SectorSize; ss != 0 && (ss < 512 || ss > 4096 || ss&(ss-1) != 0) {
				t.Fatalf("entry %q has sector size %d", e.Name, ss)
			}
		}
	})
}
