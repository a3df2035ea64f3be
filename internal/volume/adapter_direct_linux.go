//go:build linux

package volume

import (
	"os"

	"golang.org/x/sys/unix"
)

// directDev is a device opened with O_DIRECT for the in-place transitions:
// the raw device and the dm-crypt mapping over it are two block devices
// with two page caches, so a cached copy of either could hide what was
// written through the other; O_DIRECT reads and writes the medium.
type directDev = *os.File

// openDirect opens path read-write with O_DIRECT (buffers, offsets and
// lengths must be aligned to inplace.Align).
func openDirect(path string) (directDev, error) {
	return os.OpenFile(path, os.O_RDWR|unix.O_DIRECT|unix.O_CLOEXEC, 0)
}

// openDirectRead opens path read-only with O_DIRECT (a dry run's
// measurement: nothing is written).
func openDirectRead(path string) (directDev, error) {
	return os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
}
