package keyops

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// importError classifies a failed IMPORT of the blob at blobPath. By the
// time the driver sees the blob, its tag and sizes have passed
// caamc.ParseObject, so a refusal by the driver means the CAAM's blob
// integrity check failed: the blob was sealed on another SoC (another
// OTPMK, or before secure boot was closed) or altered (docs/caam-abi.md
// §2 and §5). That is a wrong key (fail.ErrWrongKey, exit code 5), not a
// generic failure. The simulator answers EBADMSG, linux-imx may answer
// EINVAL, so every errno except those saying nothing about the blob
// (resources, permissions, wrong node) counts. The errno stays in the chain.
func importError(blobPath string, err error) error {
	var ke *caamc.KernelError
	if errors.As(err, &ke) && ke.Op == "import" && !resourceErrno(ke.Errno) {
		return fmt.Errorf("%w: blob %s was sealed on another device (or before secure boot was closed) "+
			"or is corrupt: the CAAM blob integrity check failed; restore the blob from a backup made on this device: %w",
			fail.ErrWrongKey, blobPath, err)
	}
	return fmt.Errorf("import blob %s: %w", blobPath, err)
}

// resourceErrno reports IMPORT errnos that say nothing about the blob.
func resourceErrno(e syscall.Errno) bool {
	switch e {
	case syscall.ENOMEM, syscall.EFAULT, syscall.ENOTTY, syscall.EPERM, syscall.EACCES,
		syscall.ENODEV, syscall.ENXIO, syscall.EINTR, syscall.EAGAIN:
		return true
	}
	return false
}
