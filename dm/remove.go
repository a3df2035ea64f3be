package dm

import (
	"errors"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Remove removes device name. A missing device is an error wrapping
// ErrNotFound; a device that stays busy through the retries is an error
// wrapping unix.EBUSY. With Deferred the kernel may accept the removal and
// carry it out when the device is closed: Remove then returns nil while the
// device still exists (GetInfo shows DeferredRemove).
func Remove(name string, opts RemoveOptions) error {
	fail := func(step string, e error) error { return &Error{Op: "remove", Name: name, Step: step, Err: e} }
	if e := validateName(name); e != nil {
		return fail("", e)
	}
	retries := opts.Retries
	if retries == 0 {
		retries = DefaultRemoveRetries
	} else if retries < 0 {
		retries = 0
	}
	end := begin()
	defer end()
	udevSync := chooseUdevSync()
	log := logrus.WithFields(logrus.Fields{"name": name, "deferred": opts.Deferred, "force": opts.Force, "retries": retries})

	delay := 100 * time.Millisecond
	forced := false
	for attempt := 0; ; attempt++ {
		lastTry := attempt >= retries && (!opts.Force || forced)
		restore := func() {}
		if !lastTry {
			restore = sink.beQuiet()
		}
		cookie, err := libRemove(name, opts.Deferred, udevSync)
		waitUdev(cookie)
		restore()
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EBUSY) || lastTry {
			log.WithError(err).Debug("dm: remove failed")
			return fail("", err)
		}
		if attempt >= retries {
			// Out of retries with Force: make the device harmless.
			if e := replaceWithError(name, udevSync); e != nil {
				return fail("replace table with error target", e)
			}
			forced = true
			continue
		}
		log.WithField("attempt", attempt+1).Debugf("dm: device busy, retrying in %s", delay)
		time.Sleep(delay)
		if delay < time.Second {
			delay *= 2
		}
	}

	if in, err := libInfo(name); err == nil && in.Exists {
		log.Info("dm: device is open; the kernel removes it when it is closed (deferred remove)")
		return nil
	}
	// The node goes with the device (udev rule or library); clean a stale
	// one left behind, e.g. by a node manager that ignored the event.
	if !pollUntil(nodeWaitTimeout, func() bool { return !nodeExists(name) }) {
		log.Warn("dm: device node still present after remove; removing it with libdevmapper")
		if err := libMknodes(name); err != nil && !errors.Is(err, unix.ENXIO) {
			log.WithError(err).Warn("dm: could not remove stale device node")
		}
	}
	log.Debug("dm: remove: done")
	return nil
}

// replaceWithError swaps the live table of name for one "error" target of
// the same size. The old targets are destroyed (dm-crypt wipes its key) and
// all I/O to the device fails from now on.
func replaceWithError(name string, udevSync bool) error {
	tbl, err := libTable(name, false)
	if err != nil {
		return err
	}
	var size uint64
	for _, t := range tbl {
		size += t.Length
	}
	if size == 0 {
		return nil // no live table: nothing to replace
	}
	if err := libLoad(name, []Target{{Start: 0, Length: size, Type: "error"}}, false); err != nil {
		return err
	}
	cookie, err := libResume(name, udevSync)
	waitUdev(cookie)
	if err != nil {
		return err
	}
	logrus.WithField("name", name).Warn("dm: device stayed busy: its table was replaced with an error target, I/O to it now fails")
	return nil
}
