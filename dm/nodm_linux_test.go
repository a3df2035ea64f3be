//go:build linux && cgo

package dm

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// TestNoDeviceMapperIsOneQuietError runs where the kernel has no
// device-mapper (the build machines' own kernel): every libdevmapper call
// then fails inside the library, dm_task_create included. The caller must
// get one error that carries the library's first reason, and the library's
// own ERROR lines must not reach the user's log around it.
func TestNoDeviceMapperIsOneQuietError(t *testing.T) {
	b, err := os.ReadFile("/proc/misc")
	if err != nil {
		t.Skipf("cannot read /proc/misc: %v", err)
	}
	if strings.Contains(string(b), " device-mapper\n") {
		t.Skip("the running kernel has device-mapper; this test needs one without")
	}
	h := &captureHook{}
	logrus.AddHook(h)
	t.Cleanup(func() { logrus.StandardLogger().ReplaceHooks(logrus.LevelHooks{}) })

	_, err = List()
	if !errors.Is(err, ErrLibrary) {
		t.Fatalf("List() error = %v, want one matching ErrLibrary", err)
	}
	if !strings.Contains(err.Error(), "libdevmapper says: ") {
		t.Errorf("error %q does not carry libdevmapper's reason", err)
	}
	for _, e := range h.entries {
		if e.Level < logrus.DebugLevel {
			t.Errorf("libdevmapper line reached the log at %v: %q", e.Level, e.Message)
		}
	}
}
