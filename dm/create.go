package dm

import (
	"errors"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Create makes device name with the given table and returns once
// /dev/mapper/<name> exists, with or without udev.
//
// It runs the three ioctls dmsetup create runs (create, load table,
// resume) one by one so the kernel's errno of the failing step is kept: a
// crypt table the kernel refuses fails at "load table" with EINVAL, or
// ENOKEY when the keyring key is not visible to this process. Whatever
// fails, a half-made device is removed again.
func Create(name string, targets []Target, opts CreateOptions) (err error) {
	kind := targetKind(targets)
	fail := func(step string, e error) error {
		return &Error{Op: "create", Target: kind, Name: name, Step: step, Err: e}
	}
	if e := validateName(name); e != nil {
		return fail("", e)
	}
	if e := validateUUID(opts.UUID); e != nil {
		return fail("", e)
	}
	if e := validateTargets(targets); e != nil {
		return fail("", e)
	}
	end := begin()
	defer end()

	log := logrus.WithFields(logrus.Fields{"name": name, "uuid": opts.UUID, "read_only": opts.ReadOnly})
	for _, t := range targets {
		r := redactTarget(t)
		log.WithFields(logrus.Fields{"start": r.Start, "length": r.Length, "type": r.Type, "params": r.Params}).Debug("dm: create: target")
	}
	udevSync := chooseUdevSync()

	if e := libCreate(name, opts.UUID); e != nil {
		log.WithError(e).Debug("dm: create: DM_DEV_CREATE failed")
		if errors.Is(e, unix.EBUSY) {
			// The kernel answers a name or UUID already in use with
			// EBUSY (dm-ioctl.c dm_hash_insert); say EEXIST so callers
			// can tell it from a device that is busy.
			e = unix.EEXIST
		}
		return fail("", e)
	}
	defer func() {
		if err != nil {
			rollbackCreate(name, udevSync)
		}
	}()
	if e := libLoad(name, targets, opts.ReadOnly); e != nil {
		log.WithError(e).Debug("dm: create: DM_TABLE_LOAD failed")
		return fail("load table", e)
	}
	cookie, e := libResume(name, udevSync)
	waitUdev(cookie)
	if e != nil {
		log.WithError(e).Debug("dm: create: resume failed")
		return fail("resume", e)
	}
	if e := ensureNode(name); e != nil {
		return fail("wait for "+NodePath(name), e)
	}
	log.WithField("node", NodePath(name)).Debug("dm: create: done")
	return nil
}

// rollbackCreate removes a device Create made but could not finish. Its
// errors are logged, not returned: the caller gets the original failure.
func rollbackCreate(name string, udevSync bool) {
	restore := sink.beQuiet()
	defer restore()
	var err error
	for i := 0; i < 3; i++ {
		var cookie uint32
		cookie, err = libRemove(name, false, udevSync)
		waitUdev(cookie)
		if err == nil || !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil && !errors.Is(err, unix.ENXIO) {
		logrus.WithError(err).Warnf("dm: could not remove half-made device %q; remove it with: dmsetup remove %s", name, name)
		return
	}
	logrus.WithField("name", name).Debug("dm: create: rolled back")
}
