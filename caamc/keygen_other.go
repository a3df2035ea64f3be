//go:build !linux || !cgo

package caamc

import (
	"errors"
	"fmt"
)

// Device is a caam-keygen device. In this build (no cgo, or not Linux) it
// cannot be opened: Open always fails with errors.ErrUnsupported.
type Device struct{ path string }

func unsupported(path string) error {
	return fmt.Errorf("caam-keygen %s: %w: this caamcrypt was built without cgo or for a system other than Linux; "+
		"rebuild for Linux with CGO_ENABLED=1", path, errors.ErrUnsupported)
}

// Open fails with an error wrapping errors.ErrUnsupported.
func Open(path string) (*Device, error) {
	if path == "" {
		path = DefaultDevice
	}
	return nil, unsupported(path)
}

// Path is the device node path.
func (d *Device) Path() string { return d.path }

// Close does nothing.
func (d *Device) Close() error { return nil }

// Create fails with an error wrapping errors.ErrUnsupported.
func (d *Device) Create(enc Encryption, spec KeySpec) (blackKey, blob []byte, err error) {
	return nil, nil, unsupported(d.path)
}

// Import fails with an error wrapping errors.ErrUnsupported.
func (d *Device) Import(blob []byte) (blackKey []byte, err error) {
	return nil, unsupported(d.path)
}
