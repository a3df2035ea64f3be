package keyops

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keystore"
)

// A blob the CAAM refuses (another device's OTPMK, or tampered) is a wrong
// key with exit code 5 and a message naming the integrity check; resource
// errors stay generic failures. No key file is written either way.
func TestImportIntegrityFailureIsWrongKey(t *testing.T) {
	cases := []struct {
		errno syscall.Errno
		want  int
	}{
		{syscall.EBADMSG, fail.ExitWrongKey}, // caamsim
		{syscall.EINVAL, fail.ExitWrongKey},  // linux-imx
		{syscall.ENOMEM, fail.ExitFailure},
		{syscall.EFAULT, fail.ExitFailure},
	}
	for _, c := range cases {
		dir := t.TempDir()
		st := keystore.New(dir)
		bp := filepath.Join(dir, "k.bb")
		if err := os.WriteFile(bp, object(caamc.ECB, 16, caamc.BlobSize(16)), 0o400); err != nil {
			t.Fatal(err)
		}
		kg := &fakeKeygen{err: &caamc.KernelError{Op: "import", Device: "/dev/caam-keygen", Errno: c.errno,
			Message: "Blob integrity check failed: wrong device or corrupted blob."}}
		_, err := Import(kg, st, bp, "k-imported", false)
		if got := fail.ExitCode(err); got != c.want {
			t.Errorf("%v: exit code %d, want %d (%v)", c.errno, got, c.want, err)
		}
		if !errors.Is(err, c.errno) {
			t.Errorf("%v: errno lost from %v", c.errno, err)
		}
		if c.want == fail.ExitWrongKey && (!strings.Contains(err.Error(), "integrity") || !strings.Contains(err.Error(), "another device")) {
			t.Errorf("%v: message does not name the integrity check and another device: %v", c.errno, err)
		}
		if _, serr := os.Stat(st.KeyPath("k-imported")); !os.IsNotExist(serr) {
			t.Errorf("%v: key file written after a failed import (%v)", c.errno, serr)
		}
	}
}
