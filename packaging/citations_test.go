package packaging

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// outsideFacts is the name of the facts file kept outside the repository,
// spelled in two parts so this file does not cite it.
const outsideFacts = "caam-" + "facts"

// Comments and docs cite the facts the code relies on in the repository's
// own docs/caam-abi.md, by section; a citation of a document outside the
// repository, or of a section that does not exist, is an error.
func TestCitationsStayInTheRepository(t *testing.T) {
	out, err := exec.Command("git", "-C", repoRoot, "ls-files").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	abi, err := os.ReadFile(repoRoot + "/docs/caam-abi.md")
	if err != nil {
		t.Fatal(err)
	}
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## §(\d+) `).FindAllStringSubmatch(string(abi), -1) {
		sections[m[1]] = true
	}
	if len(sections) < 14 {
		t.Fatalf("docs/caam-abi.md has %d numbered sections, want 14", len(sections))
	}
	cite := regexp.MustCompile(`docs/caam-abi\.md(?:\)|\s|\n[ \t]*(?://|#|\*)?[ \t]*)*§(\d+)`)
	n := 0
	for _, f := range strings.Fields(string(out)) {
		if f == "docs/caam-abi.md" || strings.Contains(f, "testdata/") {
			continue
		}
		b, err := os.ReadFile(repoRoot + "/" + f)
		if err != nil {
			continue
		}
		s := string(b)
		if strings.Contains(s, outsideFacts) {
			t.Errorf("%s cites %s, a document outside the repository: cite docs/caam-abi.md", f, outsideFacts)
		}
		for _, m := range cite.FindAllStringSubmatch(s, -1) {
			n++
			if !sections[m[1]] {
				t.Errorf("%s cites docs/caam-abi.md §%s, which does not exist", f, m[1])
			}
		}
	}
	if n < 50 {
		t.Errorf("found only %d citations of docs/caam-abi.md; the pattern no longer matches how they are written", n)
	}
}
