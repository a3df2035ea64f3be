//go:build !linux

package volume

import (
	"fmt"
	"os"
)

type directDev = *os.File

// openDirect needs Linux's O_DIRECT.
func openDirect(path string) (directDev, error) {
	return nil, fmt.Errorf("open %s: in-place transitions need Linux: %w", path, errNotLinux)
}

func openDirectRead(path string) (directDev, error) { return openDirect(path) }
