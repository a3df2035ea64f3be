package volume

import (
	"context"
	"crypto/sha256"
	"os"
	"regexp"
	"testing"
)

const diskSize = 4 << 20

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// norm replaces UUIDs in call names so sequences can be compared.
func norm(calls []string) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = uuidRE.ReplaceAllString(c, "U")
	}
	return out
}

// after returns the calls after the last occurrence of name.
func after(calls []string, name string) []string {
	calls = norm(calls)
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i] == name {
			return calls[i+1:]
		}
	}
	return nil
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func writeNode(t *testing.T, node string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(node, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
}

func readNode(t *testing.T, node string, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(node)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// formatClosed formats a volume with o and closes it again: the starting
// point of most open and close tests.
func formatClosed(t *testing.T, m *Manager, o FormatOptions) {
	t.Helper()
	ctx := context.Background()
	if _, err := m.Format(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx, CloseOptions{Name: o.Name}); err != nil {
		t.Fatal(err)
	}
}

// requireNothingLeft fails the test when a mapping or a keyring key is
// left: the state every failed or closed operation must return to.
func (w *world) requireNothingLeft(t *testing.T) {
	t.Helper()
	if got := w.mapper.names(); len(got) != 0 {
		t.Fatalf("mappings left: %v", got)
	}
	if n := w.ring.count(); n != 0 {
		t.Fatalf("%d keys left in the keyring", n)
	}
}
