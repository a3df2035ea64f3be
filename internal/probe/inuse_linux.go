//go:build linux

package probe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"unsafe"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// InUse reports what uses devPath now. For a block device: mounts of it or
// of its partitions (matched by major:minor from stat's st_rdev against
// mountinfo, so /dev/mapper symlinks and by-uuid links match too), holders
// in sysfs, and, when nothing else was found, an exclusive-open test
// (open(2) O_EXCL on a block device fails with EBUSY while the kernel or a
// program holds it exclusively: mounts, dm tables, swapon, mkfs). For a
// regular file: loop devices backed by it and their users. No findings
// means not in use.
func (s System) InUse(devPath string) ([]Finding, error) {
	fi, err := stat(devPath)
	if err != nil {
		return nil, err
	}
	mounts, err := s.mounts()
	if err != nil {
		return nil, err
	}
	if fi.Mode().IsRegular() {
		return s.loopUsers(fi, mounts), nil
	}
	if fi.Mode()&fs.ModeDevice == 0 || fi.Mode()&fs.ModeCharDevice != 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotBlockDevice, devPath)
	}
	var st unix.Stat_t
	err = unix.Stat(devPath, &st)
	logrus.WithFields(logrus.Fields{"pkg": "probe", "call": "stat", "path": devPath, "rdev": st.Rdev, "err": err}).Debug("device number")
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", devPath, os.NewSyscallError("stat", err))
	}
	major, minor := unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	out, err := s.devUsers(major, minor, mounts)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		busy, err := exclusivelyOpen(devPath)
		if err != nil {
			return nil, err
		}
		if busy {
			out = append(out, Finding{KindBusy, "another program has the device open exclusively (open with O_EXCL failed: device busy)"})
		}
	}
	return out, nil
}

// stat follows symlinks (/dev/disk/by-uuid/..., /dev/mapper/...); a missing
// path wraps fail.ErrNotFound.
func stat(path string) (os.FileInfo, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: device %s: %w", fail.ErrNotFound, path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("device %s: %w", path, err)
	}
	return fi, nil
}

// exclusivelyOpen tries open(path, O_RDONLY|O_EXCL) and closes it again;
// EBUSY means someone else holds the block device exclusively.
func exclusivelyOpen(path string) (bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_EXCL|unix.O_CLOEXEC, 0)
	logrus.WithFields(logrus.Fields{"pkg": "probe", "call": "open", "path": path, "flags": "O_RDONLY|O_EXCL|O_CLOEXEC", "fd": fd, "err": err}).Debug("exclusive open test")
	if errors.Is(err, unix.EBUSY) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("open %s exclusively: %w", path, os.NewSyscallError("open", err))
	}
	unix.Close(fd)
	return false, nil
}

// SizeBytes returns the size of a block device (BLKGETSIZE64 ioctl) or of
// a regular file (an image).
func SizeBytes(devPath string) (int64, error) {
	fi, err := stat(devPath)
	if err != nil {
		return 0, err
	}
	if fi.Mode().IsRegular() {
		return fi.Size(), nil
	}
	if fi.Mode()&fs.ModeDevice == 0 || fi.Mode()&fs.ModeCharDevice != 0 {
		return 0, fmt.Errorf("%w: %s", ErrNotBlockDevice, devPath)
	}
	fd, err := unix.Open(devPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", devPath, os.NewSyscallError("open", err))
	}
	defer unix.Close(fd)
	// The kernel always stores a u64, even on 32-bit ARM where the ioctl
	// number encodes a 4-byte size_t: pass a uint64, not an int.
	var size uint64
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.BLKGETSIZE64), uintptr(unsafe.Pointer(&size)))
	logrus.WithFields(logrus.Fields{"pkg": "probe", "call": "ioctl", "req": "BLKGETSIZE64", "path": devPath, "size": size, "errno": errno}).Debug("block device size")
	if errno != 0 {
		return 0, fmt.Errorf("size of %s: %w", devPath, os.NewSyscallError("ioctl BLKGETSIZE64", errno))
	}
	return int64(size), nil
}
