package main

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctlGetSize64 is BLKGETSIZE64: the device size in bytes.
func ioctlGetSize64(fd int, size *uint64) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(unix.BLKGETSIZE64), uintptr(unsafe.Pointer(size)))
	if errno != 0 {
		return errno
	}
	return nil
}
