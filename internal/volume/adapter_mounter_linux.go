//go:build linux

package volume

import (
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// kernelMounter is Mounter over mount(2)/umount(2) and /proc/self/mountinfo.
type kernelMounter struct{}

func (kernelMounter) Mount(source, target, fstype string, readOnly bool) error {
	var flags uintptr
	if readOnly {
		flags |= unix.MS_RDONLY
	}
	err := unix.Mount(source, target, fstype, flags, "")
	trace("mount", logrus.Fields{"source": source, "target": target, "fstype": fstype, "flags": flags}, err)
	if err != nil {
		return os.NewSyscallError("mount", err)
	}
	return nil
}

func (kernelMounter) Unmount(target string) error {
	err := unix.Unmount(target, 0)
	trace("umount", logrus.Fields{"target": target}, err)
	if err != nil {
		return os.NewSyscallError("umount", err)
	}
	return nil
}

// MountPoints finds dev's mounts by its device number.
func (kernelMounter) MountPoints(dev string) ([]string, error) {
	id, err := blockID(dev)
	if err != nil {
		return nil, err
	}
	if id == "" {
		return nil, nil
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mps, err := mountPointsOf(f, id)
	if err != nil {
		return nil, fmt.Errorf("read /proc/self/mountinfo: %w", err)
	}
	return mps, nil
}

// blockID is the "major:minor" of a block device, "" for other files.
func blockID(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", os.NewSyscallError("stat "+path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return "", nil
	}
	return fmt.Sprintf("%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))), nil
}

// trace logs a kernel call at debug level.
func trace(call string, f logrus.Fields, err error) {
	logrus.WithFields(f).WithField("pkg", "volume").WithField("err", err).Debug(call)
}
