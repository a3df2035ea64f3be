package packaging

import (
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/caamtab"
)

// TestCaamtabExampleParses: the example shipped to images is a valid table
// for the parser open --all uses, with the four sample volumes.
func TestCaamtabExampleParses(t *testing.T) {
	entries, err := caamtab.ParseFile("caamtab.example")
	if err != nil {
		t.Fatalf("packaging/caamtab.example: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	want := []string{"data", "logs", "scratch", "legacy"}
	if len(names) != len(want) {
		t.Fatalf("entries %q, want %q", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("entry %d is %q, want %q", i, names[i], want[i])
		}
	}
}
