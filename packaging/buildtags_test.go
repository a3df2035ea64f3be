package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every path that builds a shipped or tested caamcrypt binary passes the
// release build tag (the Makefile's GO_TAGS): a path without it ships a
// binary 0.33 MB larger that starts slower (blackfriday's package init),
// and a rig without it would time a binary nobody ships.
func TestBuildPathsCarryReleaseTags(t *testing.T) {
	const tag = "urfave_cli_no_docs"
	for _, f := range []struct{ path, want string }{
		{"Makefile", "GO_TAGS   ?= " + tag},
		{"Makefile", `-tags "$(GO_TAGS)"`},
		{"Makefile", `GO_TAGS="$(GO_TAGS)" packaging/cross/build.sh`},
		{"packaging/cross/build.sh", "tags=${GO_TAGS-" + tag + "}"},
		{"packaging/cross/build.sh", `go build -trimpath -tags "$tags"`},
		{"packaging/yocto/meta-caamcrypt/recipes-security/caamcrypt/caamcrypt_git.bb", `GOBUILDFLAGS:append = " -tags ` + tag + `"`},
		{"test/vm/gobuild.go", `releaseTags = "` + tag + `"`},
	} {
		b, err := os.ReadFile(filepath.Join(repoRoot, f.path))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), f.want) {
			t.Errorf("%s does not contain %q", f.path, f.want)
		}
	}
}
