package cross

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// There is no Docker engine on the build machines, so Dockerfile.cross is
// never built here. These checks keep it the thin wrapper it is meant to be:
// its only build step is packaging/cross/build.sh, which sdk_test.go runs.

// instructions parses a Dockerfile into (keyword, arguments) pairs, joining
// continuation lines and dropping comments.
func instructions(t *testing.T, path string) [][2]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]string
	var cur string
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		kw, args, _ := strings.Cut(cur, " ")
		out = append(out, [2]string{strings.ToUpper(kw), strings.Join(strings.Fields(args), " ")})
		cur = ""
	}
	return out
}

func TestDockerfileCrossIsAWrapperOfBuildScript(t *testing.T) {
	ins := instructions(t, repoRoot+"/Dockerfile.cross")
	// Every RUN is one of these; the only one that builds is build.sh.
	allowed := []*regexp.Regexp{
		regexp.MustCompile(`^apt-get update && apt-get install -y --no-install-recommends [a-z0-9 .-]+ && rm -rf /var/lib/apt/lists/\*$`),
		regexp.MustCompile(`^sh /tmp/sdk-installer\.sh -y -d /opt/sdk && rm /tmp/sdk-installer\.sh$`),
		regexp.MustCompile(`^go mod download$`),
		regexp.MustCompile(`^packaging/cross/build\.sh /opt/sdk/environment-setup-\* "\$GOARCH" "/out/caamcrypt-\$GOARCH"$`),
	}
	seen := map[int]int{} // allowed index -> instruction index
	var from, envOffline, copyAll = -1, -1, -1
	for i, in := range ins {
		switch in[0] {
		case "RUN":
			k := -1
			for j, re := range allowed {
				if re.MatchString(in[1]) {
					k = j
				}
			}
			if k < 0 {
				t.Errorf("Dockerfile.cross: RUN %q is not one of the wrapper's steps (build steps belong in packaging/cross/build.sh)", in[1])
				continue
			}
			if _, dup := seen[k]; dup {
				t.Errorf("Dockerfile.cross: RUN %q appears twice", in[1])
			}
			seen[k] = i
		case "FROM":
			if from < 0 {
				from = i
			}
		case "ENV":
			if in[1] == "GOFLAGS=-mod=mod GOPROXY=off" {
				envOffline = i
			}
		case "COPY":
			if in[1] == ". ." {
				copyAll = i
			}
		}
	}
	for j, re := range allowed {
		if _, ok := seen[j]; !ok {
			t.Errorf("Dockerfile.cross has no RUN matching %s", re)
		}
	}
	// Modules are fetched before the sources come in, and the build runs
	// offline after them.
	if !(seen[2] < copyAll && copyAll < envOffline && envOffline < seen[3]) {
		t.Errorf("Dockerfile.cross order: go mod download %d, COPY . . %d, ENV offline %d, build.sh %d", seen[2], copyAll, envOffline, seen[3])
	}
	for _, arg := range []string{"SDK", "GOARCH=arm64", "VERSION=unknown"} {
		found := false
		for _, in := range ins {
			found = found || (in[0] == "ARG" && in[1] == arg)
		}
		if !found {
			t.Errorf("Dockerfile.cross lacks ARG %s", arg)
		}
	}
	// The Go image must be at least go.mod's go version.
	m := regexp.MustCompile(`^golang:1\.(\d+)-bookworm AS build$`).FindStringSubmatch(ins[from][1])
	gomod, err := os.ReadFile(repoRoot + "/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	g := regexp.MustCompile(`(?m)^go 1\.(\d+)`).FindSubmatch(gomod)
	if m == nil || g == nil {
		t.Fatalf("Dockerfile.cross FROM %q, go.mod go line %q", ins[from][1], g)
	}
	if img, _ := strconv.Atoi(m[1]); img < atoi(string(g[1])) {
		t.Errorf("Dockerfile.cross builds with Go 1.%d, go.mod needs 1.%s", img, g[1])
	}
	if fi, err := os.Stat(buildScript); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("%s must exist and be executable: %v", buildScript, err)
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// TestDockerignore: .git stays out (the version comes from the VERSION
// argument) and nothing the build needs is left out.
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(repoRoot + "/.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			lines[l] = true
		}
	}
	for _, must := range []string{".git", "bin"} {
		if !lines[must] {
			t.Errorf(".dockerignore does not exclude %s", must)
		}
	}
	for l := range lines {
		for _, needed := range []string{"go.mod", "go.sum", "packaging", "cmd", "caamc", "dm", "internal", "third_party", "sdk", "*.sh", "*", "**"} {
			if strings.TrimSuffix(strings.TrimPrefix(l, "/"), "/") == needed {
				t.Errorf(".dockerignore excludes %s, which the build needs", l)
			}
		}
	}
}
