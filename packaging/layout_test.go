package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's layout table names every top-level directory of the tree
// (under cmd/, internal/, test/ and third_party/ one level down), and no
// package that is gone.
func TestReadmeLayoutMatchesTree(t *testing.T) {
	out, err := exec.Command("git", "-C", repoRoot, "ls-files").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)[strings.Index(string(readme), "## Layout"):]
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z_]+(?:/[a-z_-]+)?)`").FindAllStringSubmatch(section, -1) {
		named[m[1]] = true
	}
	dirs := map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		parts := strings.Split(f, "/")
		switch {
		case len(parts) < 2 || strings.HasPrefix(parts[0], "."):
		case parts[0] == "cmd" || parts[0] == "internal" || parts[0] == "test" || parts[0] == "third_party":
			if len(parts) > 2 {
				dirs[parts[0]+"/"+parts[1]] = true
			}
		default:
			dirs[parts[0]] = true
		}
	}
	for d := range dirs {
		if !named[d] {
			t.Errorf("README layout does not name %s", d)
		}
	}
	for n := range named {
		if strings.Contains(n, "/") && (strings.HasPrefix(n, "internal/") || strings.HasPrefix(n, "test/")) && !dirs[n] {
			t.Errorf("README layout names %s, which is not in the tree", n)
		}
	}
}
