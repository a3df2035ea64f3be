package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SeedEnv names the environment variable that makes Seed write its values
// to the package's committed seed corpus (testdata/fuzz/<FuzzName>/), e.g.
// after a format change: CAAMCRYPT_FUZZ_WRITE_SEEDS=1 go test -run '^Fuzz' ./...
const SeedEnv = "CAAMCRYPT_FUZZ_WRITE_SEEDS"

// Seed adds one seed input to f and, when SeedEnv is set, also writes it as a
// corpus file in Go's "go test fuzz v1" format, named by its content hash so
// rewriting is idempotent. Values may be []byte, string, bool or int.
func Seed(f *testing.F, values ...any) {
	f.Helper()
	f.Add(values...)
	if os.Getenv(SeedEnv) == "" {
		return
	}
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, v := range values {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%t)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		default:
			f.Fatalf("testutil.Seed: unsupported seed type %T", v)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	dir := filepath.Join("testdata", "fuzz", f.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	name := filepath.Join(dir, "seed-"+hex.EncodeToString(sum[:8]))
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		f.Fatal(err)
	}
}
