package dm

import (
	"os"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// libMu serialises all use of libdevmapper, which keeps process-global
// state and is not thread-safe.
var libMu sync.Mutex

// udevControl exists while systemd-udevd runs; libdevmapper (through
// libudev's udev_queue_get_udev_is_active) tests the same file. mdev and
// initramfs setups without udev do not create it.
const udevControl = "/run/udev/control"

var (
	// udevWaitTimeout bounds the wait for udev to confirm a uevent. udev
	// confirms only if the device-mapper rules (95-dm-notify.rules) are
	// installed; without them dm_udev_wait would block forever.
	udevWaitTimeout = 20 * time.Second
	// nodeWaitTimeout bounds the wait for /dev/mapper/<name> to appear or
	// vanish after udev (or the library) has done its part.
	nodeWaitTimeout = 3 * time.Second
)

// begin starts one public call: it takes the libdevmapper lock and returns
// the function that releases the library (dm_lib_release: close the control
// fd, run queued node operations) and the lock.
func begin() (end func()) {
	libMu.Lock()
	libInit()
	return func() {
		libRelease()
		libMu.Unlock()
	}
}

// chooseUdevSync decides how /dev/mapper nodes get made for this call: by
// udev with a cookie to wait on when udev runs, otherwise by libdevmapper
// itself with udev sync switched off (busybox with mdev, or no device
// manager at all: without this, dmsetup-style calls leave no node).
func chooseUdevSync() bool {
	_, err := os.Stat(udevControl)
	running := err == nil
	sync := libSetUdevSync(running)
	logrus.WithFields(logrus.Fields{"udev_running": running, "udev_sync": sync}).Debug("dm: node management chosen")
	return sync
}

// waitUdev waits, bounded, until udev has processed the uevent of cookie,
// and lets libdevmapper run its queued node operations. A zero cookie (no
// udev sync) only runs the node operations.
func waitUdev(cookie uint32) {
	if cookie == 0 {
		libUdevFlush()
		return
	}
	deadline := time.Now().Add(udevWaitTimeout)
	delay := 5 * time.Millisecond
	for {
		ready, err := libUdevWaitImmediate(cookie)
		if err != nil {
			logrus.WithField("cookie", cookie).Warn("dm: waiting for udev failed; continuing without udev confirmation")
			return
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			logrus.WithField("cookie", cookie).Warnf("dm: udev did not confirm the device event within %s (are the device-mapper udev rules installed?); creating nodes without udev", udevWaitTimeout)
			libUdevAbandon(cookie)
			return
		}
		time.Sleep(delay)
		if delay < 100*time.Millisecond {
			delay *= 2
		}
	}
}

// nodeMatches reports whether /dev/mapper/<name> is a block device with
// the given device number.
func nodeMatches(name string, major, minor uint32) bool {
	var st unix.Stat_t
	if err := unix.Stat(NodePath(name), &st); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFBLK && unix.Major(uint64(st.Rdev)) == major && unix.Minor(uint64(st.Rdev)) == minor
}

// nodeExists reports whether anything exists at /dev/mapper/<name>.
func nodeExists(name string) bool {
	_, err := os.Lstat(NodePath(name))
	return err == nil
}

// pollUntil calls cond until it is true or timeout passes.
func pollUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ensureNode makes sure /dev/mapper/<name> is the device's node: it waits
// briefly, then asks libdevmapper to make it (DM_DEVICE_MKNODES also
// replaces a stale node left by an earlier device of the same name).
func ensureNode(name string) error {
	in, err := libInfo(name)
	if err != nil {
		return err
	}
	if !in.Exists {
		return unix.ENXIO
	}
	match := func() bool { return nodeMatches(name, in.Major, in.Minor) }
	if pollUntil(nodeWaitTimeout, match) {
		return nil
	}
	logrus.WithField("node", NodePath(name)).Warn("dm: device node missing or stale after create; making it with libdevmapper")
	if err := libMknodes(name); err != nil {
		return err
	}
	if match() {
		return nil
	}
	return ErrNoNode
}
