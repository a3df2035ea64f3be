//go:build linux && cgo

package dm

/*
#cgo pkg-config: devmapper
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <libdevmapper.h>

// Defined in log_export.go (cgo //export).
extern void caamcryptDMLog(int level, char *file, int line, int errnoOrClass, char *msg);

// caamcrypt_dm_log is the libdevmapper log hook. Go cannot receive C
// varargs, so the line is formatted here and handed to Go as one string.
static void caamcrypt_dm_log(int level, const char *file, int line,
			     int dm_errno_or_class, const char *f, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, f);
	vsnprintf(msg, sizeof(msg), f, ap);
	va_end(ap);
	caamcryptDMLog(level, (char *)(file ? file : "?"), line, dm_errno_or_class, msg);
}

static void caamcrypt_dm_log_install(void) { dm_log_with_errno_init(caamcrypt_dm_log); }

// dm_task_get_info may be a symbol-versioned alias: call it from C.
static int caamcrypt_get_info(struct dm_task *t, struct dm_info *i) { return dm_task_get_info(t, i); }

// dm_names and dm_versions are chained by byte offsets and end in flexible
// array members, which Go cannot index: walk them here.
static struct dm_names *caamcrypt_names_next(struct dm_names *n)
{
	return n->next ? (struct dm_names *)((char *)n + n->next) : NULL;
}
static const char *caamcrypt_names_name(struct dm_names *n) { return n->name; }
static struct dm_versions *caamcrypt_versions_next(struct dm_versions *v)
{
	return v->next ? (struct dm_versions *)((char *)v + v->next) : NULL;
}
static const char *caamcrypt_versions_name(struct dm_versions *v) { return v->name; }

// caamcrypt_free_wiped zeroes then frees a C copy of target parameters,
// which may hold a hex key.
static void caamcrypt_free_wiped(char *s)
{
	volatile char *p = s;
	while (*p)
		*p++ = 0;
	free(s);
}
*/
import "C"

import (
	"sync"
	"unsafe"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

var logHookOnce sync.Once

// libInit routes libdevmapper's messages to logrus (once per process).
func libInit() {
	logHookOnce.Do(func() { C.caamcrypt_dm_log_install() })
}

// libRelease closes the control fd and performs queued node operations
// (dm_lib_release). It may be called any number of times.
func libRelease() {
	C.dm_lib_release()
	logrus.Debug("dm: dm_lib_release()")
}

// libSetUdevSync turns libdevmapper's udev synchronisation on or off and
// returns whether it is in effect: the library also needs udev running,
// System V semaphores and no DM_DISABLE_UDEV in the environment.
func libSetUdevSync(want bool) bool {
	v := C.int(0)
	if want {
		v = 1
	}
	C.dm_udev_set_sync_support(v)
	got := C.dm_udev_get_sync_support() != 0
	logrus.WithFields(logrus.Fields{"want": want, "in_effect": got}).Debug("dm: dm_udev_set_sync_support")
	return got
}

// task owns one struct dm_task; destroy is idempotent.
type task struct {
	p    *C.struct_dm_task
	kind string
	name string
}

func newTask(kind C.int, kindName, name string) (*task, error) {
	var p *C.struct_dm_task
	ok, detail := quietly(func() bool {
		p = C.dm_task_create(kind)
		return p != nil
	})
	if !ok {
		logrus.WithField("task", kindName).Debug("dm: dm_task_create failed")
		return nil, &libraryError{detail: detail}
	}
	t := &task{p: p, kind: kindName, name: name}
	if name != "" {
		cs := C.CString(name)
		defer C.free(unsafe.Pointer(cs))
		if C.dm_task_set_name(p, cs) == 0 {
			t.destroy()
			return nil, ErrLibrary
		}
	}
	return t, nil
}

func (t *task) destroy() {
	if t.p != nil {
		C.dm_task_destroy(t.p)
		t.p = nil
	}
}

// run executes the ioctl and returns its errno, or an error matching
// ErrLibrary when libdevmapper failed without one. libdevmapper's error
// lines are logged at Debug meanwhile: the caller gets every failure as an
// error with the errno and context, and would otherwise see it twice.
func (t *task) run() error {
	ok, detail := quietly(func() bool { return C.dm_task_run(t.p) != 0 })
	errno := unix.Errno(C.dm_task_get_errno(t.p))
	logrus.WithFields(logrus.Fields{"task": t.kind, "name": t.name, "ok": ok, "errno": int(errno)}).Debug("dm: dm_task_run")
	if ok {
		return nil
	}
	if errno != 0 {
		return errno
	}
	return &libraryError{detail: detail}
}

// quietly runs one libdevmapper call with its error lines demoted to Debug
// and returns the call's result and the last demoted line. dm_task_create
// already talks to the kernel (it checks the driver version through
// /dev/mapper/control), so it needs this as much as dm_task_run.
func quietly(call func() bool) (ok bool, detail string) {
	sink.takeQuieted()
	restore := sink.beQuiet()
	ok = call()
	restore()
	return ok, sink.takeQuieted()
}

// udevFlags returns the cookie flags. With udev sync, udev makes the nodes
// and libdevmapper's fallback stays on (it creates a node udev failed to
// make once the cookie completes). Without sync, the dm and subsystem udev
// rules are switched off for this event (what DM_DISABLE_UDEV does) so a
// udev or mdev that is running anyway does not race the library, which then
// creates and removes the /dev/mapper nodes itself.
func udevFlags(udevSync bool) C.uint16_t {
	if udevSync {
		return 0
	}
	return C.DM_UDEV_DISABLE_DM_RULES_FLAG | C.DM_UDEV_DISABLE_SUBSYSTEM_RULES_FLAG
}

// setCookie attaches a udev cookie to a task that generates a uevent. With
// sync off the cookie stays 0 and only the flags are recorded.
func (t *task) setCookie(udevSync bool) (uint32, error) {
	var cookie C.uint32_t
	flags := udevFlags(udevSync)
	ok := C.dm_task_set_cookie(t.p, &cookie, flags) != 0
	logrus.WithFields(logrus.Fields{"task": t.kind, "name": t.name, "flags": uint16(flags), "cookie": uint32(cookie), "ok": ok}).Debug("dm: dm_task_set_cookie")
	if !ok {
		return 0, ErrLibrary
	}
	return uint32(cookie), nil
}

// libCreate creates an empty device (DM_DEV_CREATE, no table, no uevent).
func libCreate(name, uuid string) error {
	t, err := newTask(C.DM_DEVICE_CREATE, "create", name)
	if err != nil {
		return err
	}
	defer t.destroy()
	if uuid != "" {
		cs := C.CString(uuid)
		defer C.free(unsafe.Pointer(cs))
		if C.dm_task_set_uuid(t.p, cs) == 0 {
			return ErrLibrary
		}
	}
	return t.run()
}

// libLoad loads targets as the inactive table (DM_TABLE_LOAD). The ioctl
// buffer is flagged secure so the kernel wipes it (it may hold a hex key).
func libLoad(name string, targets []Target, readOnly bool) error {
	t, err := newTask(C.DM_DEVICE_RELOAD, "reload", name)
	if err != nil {
		return err
	}
	defer t.destroy()
	if readOnly && C.dm_task_set_ro(t.p) == 0 {
		return ErrLibrary
	}
	if C.dm_task_secure_data(t.p) == 0 {
		return ErrLibrary
	}
	for _, tg := range targets {
		ctype := C.CString(tg.Type)
		cparams := C.CString(tg.Params)
		ok := C.dm_task_add_target(t.p, C.uint64_t(tg.Start), C.uint64_t(tg.Length), ctype, cparams) != 0
		C.free(unsafe.Pointer(ctype))
		C.caamcrypt_free_wiped(cparams)
		r := redactTarget(tg)
		logrus.WithFields(logrus.Fields{"name": name, "start": r.Start, "length": r.Length, "type": r.Type, "params": r.Params, "ok": ok}).Debug("dm: dm_task_add_target")
		if !ok {
			return ErrLibrary
		}
	}
	return t.run()
}

// libResume activates the loaded table (DM_DEV_SUSPEND without the suspend
// flag), which makes the kernel send the uevent udev creates nodes from.
// The returned cookie must be passed to libUdevWait even on error.
func libResume(name string, udevSync bool) (uint32, error) {
	t, err := newTask(C.DM_DEVICE_RESUME, "resume", name)
	if err != nil {
		return 0, err
	}
	defer t.destroy()
	cookie, err := t.setCookie(udevSync)
	if err != nil {
		return 0, err
	}
	return cookie, t.run()
}

// libRemove removes a device (DM_DEV_REMOVE), deferred if asked. The
// returned cookie must be passed to libUdevWait even on error.
func libRemove(name string, deferred, udevSync bool) (uint32, error) {
	t, err := newTask(C.DM_DEVICE_REMOVE, "remove", name)
	if err != nil {
		return 0, err
	}
	defer t.destroy()
	if deferred && C.dm_task_deferred_remove(t.p) == 0 {
		return 0, ErrLibrary
	}
	cookie, err := t.setCookie(udevSync)
	if err != nil {
		return 0, err
	}
	return cookie, t.run()
}

// libUdevWaitImmediate checks once whether udev has finished with cookie;
// when it has (or the cookie is 0) libdevmapper also performs its queued
// node operations. It never blocks.
func libUdevWaitImmediate(cookie uint32) (bool, error) {
	var ready C.int
	ok := C.dm_udev_wait_immediate(C.uint32_t(cookie), &ready) != 0
	if !ok {
		logrus.WithField("cookie", cookie).Debug("dm: dm_udev_wait_immediate failed")
		return true, ErrLibrary
	}
	return ready != 0, nil
}

// libUdevFlush runs libdevmapper's queued node operations for a zero
// cookie (no udev sync): dm_udev_wait(0) returns at once after doing so.
// dm_udev_wait_immediate cannot be used for that: for a zero cookie it
// keeps reporting "not ready" (lvm2 libdm-common.c _udev_wait returns
// before clearing its nowait flag).
func libUdevFlush() {
	ok := C.dm_udev_wait(0) != 0
	logrus.WithField("ok", ok).Debug("dm: dm_udev_wait(0): node operations done")
}

// libUdevAbandon stops waiting for a cookie udev never completed: it does
// udev's part (dm_udev_complete) and then the waiter's (dm_udev_wait), which
// frees the semaphore and runs the queued node operations.
func libUdevAbandon(cookie uint32) {
	c := C.dm_udev_complete(C.uint32_t(cookie))
	w := C.dm_udev_wait(C.uint32_t(cookie))
	logrus.WithFields(logrus.Fields{"cookie": cookie, "complete": c != 0, "wait": w != 0}).Debug("dm: abandoned udev cookie")
}

// libMknodes makes libdevmapper create (or remove, if the device is gone)
// /dev/mapper/<name> itself (DM_DEVICE_MKNODES), then flushes the node queue.
func libMknodes(name string) error {
	t, err := newTask(C.DM_DEVICE_MKNODES, "mknodes", name)
	if err != nil {
		return err
	}
	defer t.destroy()
	err = t.run()
	C.dm_task_update_nodes()
	return err
}

// libInfo returns the device's state; a missing device is Exists=false.
func libInfo(name string) (Info, error) {
	t, err := newTask(C.DM_DEVICE_INFO, "info", name)
	if err != nil {
		return Info{}, err
	}
	defer t.destroy()
	if err := t.run(); err != nil {
		return Info{}, err
	}
	return t.info()
}

func (t *task) info() (Info, error) {
	var ci C.struct_dm_info
	if C.caamcrypt_get_info(t.p, &ci) == 0 {
		return Info{}, ErrLibrary
	}
	in := Info{Exists: ci.exists != 0}
	if !in.Exists {
		return in, nil
	}
	in.Suspended = ci.suspended != 0
	in.ReadOnly = ci.read_only != 0
	in.OpenCount = int32(ci.open_count)
	in.Major, in.Minor = uint32(ci.major), uint32(ci.minor)
	in.TargetCount = int32(ci.target_count)
	in.DeferredRemove = ci.deferred_remove != 0
	if u := C.dm_task_get_uuid(t.p); u != nil {
		in.UUID = C.GoString(u)
	}
	return in, nil
}

// libTable returns the live table (status=false) or the targets' status
// lines (status=true). Crypt parameters are returned as the kernel printed
// them: the caller redacts. A missing device is ErrNotFound.
func libTable(name string, status bool) ([]Target, error) {
	kind, kindName := C.int(C.DM_DEVICE_TABLE), "table"
	if status {
		kind, kindName = C.DM_DEVICE_STATUS, "status"
	}
	t, err := newTask(kind, kindName, name)
	if err != nil {
		return nil, err
	}
	defer t.destroy()
	if !status && C.dm_task_secure_data(t.p) == 0 {
		return nil, ErrLibrary
	}
	if err := t.run(); err != nil {
		return nil, err
	}
	// DM_DEVICE_STATUS on a missing device succeeds with exists=0.
	if in, err := t.info(); err != nil {
		return nil, err
	} else if !in.Exists {
		return nil, unix.ENXIO
	}
	var out []Target
	var next unsafe.Pointer
	for {
		var start, length C.uint64_t
		var ttype, params *C.char
		next = C.dm_get_next_target(t.p, next, &start, &length, &ttype, &params)
		if ttype != nil {
			tg := Target{Start: uint64(start), Length: uint64(length), Type: C.GoString(ttype)}
			if params != nil {
				tg.Params = C.GoString(params)
			}
			out = append(out, tg)
		}
		if next == nil {
			return out, nil
		}
	}
}

// libList lists all devices (DM_LIST_DEVICES).
func libList() ([]DeviceEntry, error) {
	t, err := newTask(C.DM_DEVICE_LIST, "list", "")
	if err != nil {
		return nil, err
	}
	defer t.destroy()
	if err := t.run(); err != nil {
		return nil, err
	}
	n := C.dm_task_get_names(t.p)
	if n == nil {
		return nil, ErrLibrary
	}
	var out []DeviceEntry
	if n.dev == 0 { // no devices at all
		return out, nil
	}
	for ; n != nil; n = C.caamcrypt_names_next(n) {
		dev := uint64(n.dev)
		out = append(out, DeviceEntry{
			Name:  C.GoString(C.caamcrypt_names_name(n)),
			Major: unix.Major(dev),
			Minor: unix.Minor(dev),
		})
	}
	return out, nil
}

// libVersions lists the loaded target types (DM_LIST_VERSIONS).
func libVersions() ([]TargetVersion, error) {
	t, err := newTask(C.DM_DEVICE_LIST_VERSIONS, "versions", "")
	if err != nil {
		return nil, err
	}
	defer t.destroy()
	if err := t.run(); err != nil {
		return nil, err
	}
	var out []TargetVersion
	for v := C.dm_task_get_versions(t.p); v != nil; v = C.caamcrypt_versions_next(v) {
		out = append(out, TargetVersion{
			Name:  C.GoString(C.caamcrypt_versions_name(v)),
			Major: uint32(v.version[0]),
			Minor: uint32(v.version[1]),
			Patch: uint32(v.version[2]),
		})
	}
	return out, nil
}
