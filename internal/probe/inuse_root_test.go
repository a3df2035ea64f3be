//go:build linux

package probe

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

// The block device mounted on / must be reported as mounted, found by
// major:minor through the host's real sysfs and mountinfo.
func TestInUseMountedRootDevice(t *testing.T) {
	testutil.RequireRoot(t)
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Skipf("no mountinfo: %v", err)
	}
	ms, err := ParseMountinfo(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var node string
	for _, m := range ms {
		if m.MountPoint != "/" || m.Major == 0 {
			continue
		}
		name, err := Host.blockName(m.Major, m.Minor)
		if err != nil {
			continue
		}
		if fi, err := os.Stat("/dev/" + name); err == nil && fi.Mode()&os.ModeDevice != 0 {
			node = "/dev/" + name
		}
	}
	if node == "" {
		t.Skip("/ is not on a block device with a /dev node here")
	}
	got, err := InUse(node)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, g := range got {
		found = found || (g.Kind == KindMounted && strings.Contains(g.Detail, "mounted on / "))
	}
	if !found {
		t.Errorf("InUse(%s) = %v, want it mounted on /", node, got)
	}
	size, err := SizeBytes(node)
	if errors.Is(err, os.ErrPermission) {
		t.Logf("size check not run: %v (this container's device cgroup forbids opening it)", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	sectors, err := os.ReadFile(fmt.Sprintf("/sys/class/block/%s/size", filepath.Base(node)))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(sectors)), 10, 64)
	if size != n*512 {
		t.Errorf("SizeBytes(%s) = %d, sysfs says %d sectors", node, size, n)
	}
}

// An image attached to a loop device is reported through the file, and the
// loop device itself is free (O_EXCL open succeeds) while nothing uses it.
func TestInUseLoopAttachedImage(t *testing.T) {
	testutil.RequireRoot(t)
	losetup := testutil.RequireCommand(t, "losetup")
	image := filepath.Join(t.TempDir(), "loop.img")
	if err := os.WriteFile(image, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(losetup, "-f", "--show", image).Output()
	if err != nil {
		t.Skipf("cannot attach a loop device here: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command(losetup, "-d", dev).Run() })
	got, err := InUse(image)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (Finding{KindLoop, "attached to " + dev}) {
		t.Errorf("InUse(image) = %v, want attached to %s", got, dev)
	}
	got, err = InUse(dev)
	if err != nil || len(got) != 0 {
		t.Errorf("InUse(%s) = %v, %v; want free", dev, got, err)
	}
	if n, err := SizeBytes(dev); err != nil || n != 4<<20 {
		t.Errorf("SizeBytes(%s) = %d, %v", dev, n, err)
	}
	// Held open exclusively by us: another exclusive open sees EBUSY.
	f, err := os.OpenFile(dev, os.O_RDONLY|os.O_EXCL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err = InUse(dev)
	if err != nil || len(got) != 1 || got[0].Kind != KindBusy {
		t.Errorf("InUse(%s) while held = %v, %v; want busy", dev, got, err)
	}
}
