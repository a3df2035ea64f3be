//go:build linux

package volume

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/internal/blockdev"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// osDevices is Devices over the real /dev, /sys and package probe.
type osDevices struct{}

func (osDevices) Resolve(spec string) (string, error) { return blockdev.Resolve(spec) }

// ResolveHeader also returns the header a UUID=/LABEL= lookup read.
func (osDevices) ResolveHeader(spec string) (string, *blockdev.Found, error) {
	return blockdev.ResolveHeader(spec)
}

// Holders names the device-mapper devices holding path, from
// /sys/dev/block/<maj:min>/holders: the kernel links a mapping there as
// soon as a table using the device is loaded (dm_get_device). ok is false
// without sysfs or for a path that is not a block device.
func (osDevices) Holders(path string) ([]string, bool) {
	id, err := blockID(path)
	if err != nil || id == "" {
		return nil, false
	}
	dir := filepath.Join("/sys/dev/block", id, "holders")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, false
	}
	var names []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "dm", "name"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // a holder of another kind (md, bcache)
		}
		if err != nil {
			return nil, false
		}
		names = append(names, strings.TrimSpace(string(b)))
	}
	logrus.WithFields(logrus.Fields{"pkg": "volume", "path": path, "holders": names}).Debug("device-mapper holders from sysfs")
	return names, true
}

func (osDevices) Open(path string, write, excl bool) (BlockDev, error) {
	flags := os.O_RDONLY | unix.O_CLOEXEC
	if write {
		flags = os.O_RDWR | unix.O_CLOEXEC
	}
	if excl {
		// Without O_CREAT, O_EXCL on a block device means "fail with EBUSY
		// if mounted or held" (open(2)); it is ignored for regular files.
		flags |= os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0)
	logrus.WithFields(logrus.Fields{"pkg": "volume", "path": path, "write": write, "excl": excl, "err": err}).Debug("open")
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (osDevices) Size(path string) (int64, error) { return probe.SizeBytes(path) }

func (osDevices) ID(path string) (string, error) { return blockID(path) }

// PathOf finds the node of "major:minor" through sysfs: the DEVNAME in
// /sys/dev/block/<maj:min>/uevent.
func (osDevices) PathOf(id string) string {
	if strings.Contains(id, "/") {
		return id
	}
	f, err := os.Open(filepath.Join("/sys/dev/block", id, "uevent"))
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, ok := strings.CutPrefix(sc.Text(), "DEVNAME="); ok {
			return "/dev/" + name
		}
	}
	return ""
}

func (osDevices) InUse(path string) ([]probe.Finding, error) { return probe.InUse(path) }

// directAlign is the buffer, offset and length alignment ReadDirect uses:
// 4096 covers every logical block size up to 4 KiB.
const directAlign = 4096

// ReadDirect reads with O_DIRECT into an aligned buffer, so the bytes come
// from the device, not from the page cache that a just-written header sits
// in (a device that silently drops writes is only caught this way).
func (osDevices) ReadDirect(path string, off int64, n int) ([]byte, error) {
	if off%directAlign != 0 || n%directAlign != 0 {
		return nil, fmt.Errorf("direct read of %s: offset %d and length %d must be multiples of %d", path, off, n, directAlign)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw := make([]byte, n+directAlign)
	shift := int(uintptr(directAlign)-uintptr(unsafe.Pointer(&raw[0]))%directAlign) % directAlign
	buf := raw[shift : shift+n]
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("direct read of %s at %d: %w", path, off, err)
	}
	return buf, nil
}
