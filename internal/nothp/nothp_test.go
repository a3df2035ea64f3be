package nothp

import (
	"os"
	"strings"
	"testing"
)

// The constructor ran in this test binary: the kernel reports THP off for
// the process (/proc/self/status THP_enabled, Linux 5.0+).
func TestTHPDisabledAtStart(t *testing.T) {
	if !Enabled {
		t.Skip("built without cgo or not on Linux")
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "THP_enabled:"); ok {
			if strings.TrimSpace(v) != "0" {
				t.Fatalf("THP_enabled:%s, want 0", v)
			}
			return
		}
	}
	t.Skip("kernel reports no THP_enabled in /proc/self/status")
}
