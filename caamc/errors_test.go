package caamc

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestKernelError(t *testing.T) {
	e := &KernelError{Op: "create", Device: "/dev/caam-keygen", Errno: syscall.EINVAL,
		Message: "Invalid key size, expected values are between 16 and 64 bytes."}
	var err error = e
	if !errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EBUSY) {
		t.Error("errno not kept")
	}
	want := "caam-keygen create on /dev/caam-keygen failed: invalid argument: Invalid key size, expected values are between 16 and 64 bytes."
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	e.Message = ""
	if !strings.Contains(err.Error(), "dmesg") {
		t.Errorf("empty message should point to the kernel log: %q", err)
	}
}

func TestDriverMessage(t *testing.T) {
	for in, want := range map[string]string{
		"Not enough space for black key.\n\x00garbage": "Not enough space for black key.",
		"\x00Invalid":                  "",
		"":                             "",
		"no terminator\n":              "no terminator",
		"bin\x01\x02ary\xff text\x00x": "binary text",
	} {
		if got := driverMessage([]byte(in)); got != want {
			t.Errorf("driverMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenErrorMapping(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOENT, syscall.ENODEV, syscall.ENXIO} {
		err := openError("/dev/caam-keygen", errno)
		if !errors.Is(err, ErrNoDevice) || !errors.Is(err, errno) {
			t.Errorf("%v: %v does not wrap ErrNoDevice and the errno", errno, err)
		}
		for _, s := range []string{"/dev/caam-keygen", "caam-keygen misc driver", "linux-imx", "CONFIG_CRYPTO_DEV_FSL_CAAM_TK_API", "caamsim"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%v: message %q lacks %q", errno, err, s)
			}
		}
	}
	for _, errno := range []syscall.Errno{syscall.EACCES, syscall.EPERM} {
		err := openError("/dev/caam-keygen", errno)
		if errors.Is(err, ErrNoDevice) || !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "root") {
			t.Errorf("%v: %v", errno, err)
		}
	}
	err := openError("/x", syscall.EBUSY)
	if errors.Is(err, ErrNoDevice) || !errors.Is(err, syscall.EBUSY) {
		t.Errorf("EBUSY: %v", err)
	}
}
