//go:build !linux

package volume

import (
	"errors"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// errNotLinux is what every kernel adapter returns off Linux, so the
// module builds (and the pure-Go tests run) on other systems.
var errNotLinux = errors.Join(fail.ErrNotReady, errors.New("caamcrypt volumes need Linux"))

type kernelMounter struct{}

func (kernelMounter) Mount(string, string, string, bool) error { return errNotLinux }
func (kernelMounter) Unmount(string) error                     { return errNotLinux }
func (kernelMounter) MountPoints(string) ([]string, error)     { return nil, errNotLinux }

type osDevices struct{}

func (osDevices) Resolve(string) (string, error)            { return "", errNotLinux }
func (osDevices) Open(string, bool, bool) (BlockDev, error) { return nil, errNotLinux }
func (osDevices) Size(string) (int64, error)                { return 0, errNotLinux }
func (osDevices) ID(string) (string, error)                 { return "", errNotLinux }
func (osDevices) PathOf(string) string                      { return "" }
func (osDevices) InUse(string) ([]probe.Finding, error)     { return nil, errNotLinux }
func (osDevices) ReadDirect(string, int64, int) ([]byte, error) {
	return nil, errNotLinux
}
