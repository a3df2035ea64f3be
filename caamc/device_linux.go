//go:build linux && cgo

package caamc

import (
	"fmt"
	"sync"
	"syscall"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Device is an open caam-keygen device node. Its methods are safe for
// concurrent use; ioctls are serialized.
type Device struct {
	mu   sync.Mutex
	path string
	fd   int // -1 once closed
}

// Open opens the caam-keygen node at path ("" means DefaultDevice). A
// missing node gives an error wrapping ErrNoDevice and the errno; a
// permission failure says root is needed.
func Open(path string) (*Device, error) {
	if path == "" {
		path = DefaultDevice
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	trace(logrus.Fields{"call": "open", "device": path, "fd": fd, "err": err}).Debug("caam-keygen open")
	if err != nil {
		return nil, openError(path, err)
	}
	return &Device{path: path, fd: fd}, nil
}

// Path is the device node this Device was opened from.
func (d *Device) Path() string { return d.path }

// Close closes the node; later calls do nothing and return nil.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return nil
	}
	err := unix.Close(d.fd)
	trace(logrus.Fields{"call": "close", "device": d.path, "fd": d.fd, "err": err}).Debug("caam-keygen close")
	d.fd = -1
	if err != nil {
		return fmt.Errorf("close %s: %w", d.path, err)
	}
	return nil
}

func errnoText(e syscall.Errno) string {
	if e == 0 {
		return "ok"
	}
	return e.Error()
}

// kernelError builds the *KernelError from the buffer the driver writes
// its message into. When the driver reports a larger size than the buffer
// ("Not enough space for ..."), the needed size is added to the message.
func (d *Device) kernelError(op string, errno syscall.Errno, msgBuf []byte, gotKey, keyCap, gotBlob, blobCap int) error {
	msg := driverMessage(msgBuf)
	if gotKey > keyCap {
		msg = fmt.Sprintf("%s (black key needs %d bytes, buffer had %d)", msg, gotKey, keyCap)
	}
	if gotBlob > blobCap {
		msg = fmt.Sprintf("%s (blob needs %d bytes, buffer had %d)", msg, gotBlob, blobCap)
	}
	kerr := &KernelError{Op: op, Device: d.path, Errno: errno, Message: msg}
	trace(logrus.Fields{"device": d.path, "op": op, "errno": int(errno), "message": msg}).Debug("caam-keygen refused")
	return kerr
}
