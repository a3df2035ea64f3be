package caamc

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

var (
	// ErrNoDevice means the caam-keygen device node is missing: the running
	// kernel lacks NXP's caam-keygen driver (or the CAAM is disabled).
	ErrNoDevice = errors.New("caam-keygen device not available")
	// ErrBadTag means bytes are not a well-formed CAAM tagged object (key or
	// blob): wrong magic/version, truncated, or sizes that break the formulas.
	ErrBadTag = errors.New("invalid CAAM tagged object")
	// ErrKeySize means a requested key size or plaintext length is outside the
	// 16..64 bytes the driver accepts, or the key spec is contradictory.
	ErrKeySize = errors.New("invalid CAAM key size")
	// ErrBadEncryption means an encryption name or value other than ecb/ccm.
	ErrBadEncryption = errors.New("invalid black key encryption")
	// ErrBadPlaintext means a plaintext key the driver would silently alter:
	// it reads the plaintext as a C string, so a NUL byte would truncate it.
	ErrBadPlaintext = errors.New("plaintext key not usable by caam-keygen")
)

// KernelError is a failed caam-keygen ioctl. Message is the NUL-terminated
// text the driver wrote into the blob buffer (CREATE) or the black key
// buffer (IMPORT) before failing; it is empty when the driver wrote none
// (newer drivers log IMPORT failures only to the kernel log).
type KernelError struct {
	Op      string        // "create" or "import"
	Device  string        // device node path
	Errno   syscall.Errno // errno of the ioctl
	Message string        // driver's message, trimmed; may be empty
}

// Error renders the op, device, errno and the driver's own words.
func (e *KernelError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "caam-keygen %s on %s failed: %v", e.Op, e.Device, e.Errno)
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else {
		b.WriteString(" (the driver gave no message; see the kernel log, dmesg)")
	}
	return b.String()
}

// Unwrap exposes the errno so errors.Is(err, unix.EINVAL) works.
func (e *KernelError) Unwrap() error { return e.Errno }

// driverMessage extracts the NUL-terminated text the driver may have written
// at the start of buf, dropping the trailing newline it adds and anything
// that is not printable ASCII (the buffer may hold binary data instead).
func driverMessage(buf []byte) string {
	if i := strings.IndexByte(string(buf), 0); i >= 0 {
		buf = buf[:i]
	}
	msg := strings.Map(func(r rune) rune {
		if r >= 0x20 && r < 0x7f {
			return r
		}
		if r == '\n' || r == '\t' {
			return ' '
		}
		return -1
	}, string(buf))
	return strings.TrimSpace(msg)
}

// openError maps an open(2) failure on the device node to an error telling
// the user what is missing. It keeps the errno in the chain.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.ENXIO):
		return fmt.Errorf("open %s: %w (%w): the running kernel lacks the caam-keygen misc driver "+
			"of NXP's linux-imx kernel (CAAM job ring driver with CONFIG_CRYPTO_DEV_FSL_CAAM_TK_API "+
			"and its caam keygen part), or the CAAM is disabled in the device tree; "+
			"for testing, load the caamsim module shipped with caamcrypt", path, ErrNoDevice, err)
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("open %s: %w: the caam-keygen device is root-only; run caamcrypt as root", path, err)
	default:
		return fmt.Errorf("open %s: %w", path, err)
	}
}
