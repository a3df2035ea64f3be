package vm

import (
	"regexp"
	"strings"
	"testing"
)

// TestPackageTestsInGuest runs the root tests of the dm and keyring
// packages in a guest, where device-mapper and the kernel keyring are real
// (they skip on the build machine). Each package's test binary must pass
// and must not have skipped the tests that need the kernel.
func TestPackageTestsInGuest(t *testing.T) {
	bins := map[string]string{
		"/usr/bin/dm.test":      MustBuildGoTest(t, "./dm"),
		"/usr/bin/keyring.test": MustBuildGoTest(t, "./internal/keyring"),
	}
	ForEachFlavour(t, func(t *testing.T, f Flavour) {
		m := New(t, Config{Flavour: f, Binaries: bins})
		res := m.Boot(Boot{Steps: []Step{
			// TestNoDeviceMapperIsOneQuietError needs a kernel without
			// device-mapper: it runs on the build host, not here.
			{Name: "dm", Run: "cd /tmp && dm.test -test.v -test.count=1 -test.skip '^TestNoDeviceMapperIsOneQuietError$'", MayFail: true},
			{Name: "keyring", Run: "cd /tmp && keyring.test -test.v -test.count=1", MayFail: true},
		}})
		res.Require(t, "dm", "keyring")
		for _, name := range []string{"dm", "keyring"} {
			out := res.Step(name).Output
			if strings.Contains(out, "--- SKIP") {
				t.Errorf("%s tests skipped inside the guest:\n%s", name, skips(out))
			}
			if n := len(regexp.MustCompile(`(?m)^--- PASS`).FindAllString(out, -1)); n == 0 {
				t.Errorf("%s: no test passed in the guest:\n%s", name, out)
			} else {
				t.Logf("%s: %d tests passed in the guest", name, n)
			}
		}
	})
}

// skips returns the SKIP lines of go test -v output and the line after each.
func skips(out string) string {
	var b strings.Builder
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "--- SKIP") {
			b.WriteString(l + "\n")
			if i+1 < len(lines) {
				b.WriteString(lines[i+1] + "\n")
			}
		}
	}
	return b.String()
}
