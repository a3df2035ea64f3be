//go:build !linux

package probe

import (
	"fmt"
	"os"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// InUse needs Linux (mountinfo, sysfs, O_EXCL on block devices).
func (s System) InUse(devPath string) ([]Finding, error) {
	return nil, fmt.Errorf("%w: checking whether %s is in use needs Linux", fail.ErrNotReady, devPath)
}

// SizeBytes returns the size of a regular file; block devices need Linux.
func SizeBytes(devPath string) (int64, error) {
	fi, err := os.Stat(devPath)
	if err != nil {
		return 0, fmt.Errorf("device %s: %w", devPath, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("%w: size of %s needs Linux", fail.ErrNotReady, devPath)
	}
	return fi.Size(), nil
}
