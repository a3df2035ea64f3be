//go:build linux && cgo

package caamc

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
)

// Offsets from the ABI table of docs/caam-abi.md §2, in field order: key_enc_len,
// key_mode_len, key_value_len, black_key_len, key_enc, key_mode, key_value,
// black_key, blob_len, blob.
var factOffsets = [10]uintptr{0, 1, 2, 4, 8, 16, 24, 32, 40, 48}

const factSize = 56

func TestCmdLayoutMatchesFacts(t *testing.T) {
	size, offs := cmdLayoutC()
	if size != factSize || offs != factOffsets {
		t.Errorf("C layout: size %d offsets %v; facts say %d %v", size, offs, factSize, factOffsets)
	}
	gsize, goffs := cmdLayoutGo()
	if gsize != size || goffs != offs {
		t.Errorf("cgo's Go view of the struct (size %d offsets %v) differs from C's (%d %v)", gsize, goffs, size, offs)
	}
}

func TestRequestNumbers(t *testing.T) {
	// _IOWR on the asm-generic ioctl layout (x86, arm, arm64):
	// dir read|write (3) << 30 | size << 16 | type << 8 | nr.
	iowr := func(nr uint64) uint64 { return 3<<30 | factSize<<16 | uint64('K')<<8 | nr }
	c, i := requestNumbers()
	if c != iowr(0) || i != iowr(1) {
		t.Errorf("CREATE %#x IMPORT %#x, want %#x %#x", c, i, iowr(0), iowr(1))
	}
}

func TestOpenMissingNode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "caam-keygen")
	d, err := Open(path)
	if err == nil {
		d.Close()
		t.Fatal("Open of a missing node succeeded")
	}
	if !errors.Is(err, ErrNoDevice) || !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("error %v does not wrap ErrNoDevice and ENOENT", err)
	}
	for _, s := range []string{path, "caam-keygen misc driver", "caamsim"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q lacks %q", err, s)
		}
	}
}

// notDevice opens a regular file as if it were the node: every ioctl on it
// fails with ENOTTY, which exercises the whole cgo path (C buffers, struct,
// request, errno, message extraction, cleanup) without /dev/caam-keygen.
func notDevice(t *testing.T) *Device {
	t.Helper()
	path := filepath.Join(t.TempDir(), "not-a-device")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestCreateIoctlFailureIsKernelError(t *testing.T) {
	d := notDevice(t)
	for _, spec := range []KeySpec{{Size: 16}, {Plaintext: []byte("0123456789abcdef0123")}} {
		for _, enc := range []Encryption{ECB, CCM} {
			k, b, err := d.Create(enc, spec)
			var kerr *KernelError
			if !errors.As(err, &kerr) || kerr.Op != "create" || kerr.Errno != syscall.ENOTTY || kerr.Device != d.Path() {
				t.Fatalf("%s %s: got %v, %v, %#v", enc, spec.mode(), k, b, err)
			}
			if !errors.Is(err, syscall.ENOTTY) || k != nil || b != nil {
				t.Errorf("%s %s: errno not kept or output returned", enc, spec.mode())
			}
		}
	}
}

func TestCreateValidatesBeforeIoctl(t *testing.T) {
	d := notDevice(t)
	// Had these reached the ioctl they would fail with ENOTTY instead.
	if _, _, err := d.Create(ECB, KeySpec{Size: 8}); !errors.Is(err, ErrKeySize) {
		t.Errorf("size 8: %v", err)
	}
	if _, _, err := d.Create(ECB, KeySpec{Plaintext: make([]byte, 70)}); !errors.Is(err, ErrKeySize) {
		t.Errorf("plaintext 70: %v", err)
	}
	if _, _, err := d.Create(ECB, KeySpec{Plaintext: make([]byte, 32)}); !errors.Is(err, ErrBadPlaintext) {
		t.Errorf("zero plaintext: %v", err)
	}
	if _, _, err := d.Create(Encryption(3), KeySpec{Size: 16}); !errors.Is(err, ErrBadEncryption) {
		t.Errorf("encryption 3: %v", err)
	}
}

func TestImport(t *testing.T) {
	d := notDevice(t)
	// A black key is not a blob: refused before the ioctl.
	if _, err := d.Import(validObject(1, 16, 16)); !errors.Is(err, ErrBadTag) || !strings.Contains(err.Error(), "not a blob") {
		t.Errorf("key as blob: %v", err)
	}
	if _, err := d.Import(validObject(1, 16, 77)); !errors.Is(err, ErrBadTag) {
		t.Errorf("bad blob: %v", err)
	}
	_, err := d.Import(validObject(9, 32, wantBlobSize(32)))
	var kerr *KernelError
	if !errors.As(err, &kerr) || kerr.Op != "import" || kerr.Errno != syscall.ENOTTY {
		t.Errorf("valid blob on a non-device: %#v", err)
	}
}

func TestCloseIdempotentAndUseAfterClose(t *testing.T) {
	d := notDevice(t)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, _, err := d.Create(ECB, KeySpec{Size: 16}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Create after Close: %v", err)
	}
	if _, err := d.Import(validObject(1, 16, 76)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Import after Close: %v", err)
	}
}

func TestTraceRedactsPlaintext(t *testing.T) {
	var buf bytes.Buffer
	l := logrus.StandardLogger()
	oldOut, oldLevel := l.Out, l.GetLevel()
	l.SetOutput(&buf)
	l.SetLevel(logrus.DebugLevel)
	defer func() { l.SetOutput(oldOut); l.SetLevel(oldLevel) }()

	d := notDevice(t)
	secret := []byte("S3cretPlaintextKey!!")
	_, _, _ = d.Create(CCM, KeySpec{Plaintext: secret})
	_, _, _ = d.Create(ECB, KeySpec{Size: 24})
	out := buf.String()
	if strings.Contains(out, string(secret)) || strings.Contains(out, "S3cret") {
		t.Fatalf("plaintext key in the debug log:\n%s", out)
	}
	for _, s := range []string{"caam-keygen ioctl", "key_value=\"<redacted>\"", "key_value=24", "op=create",
		"enc=ccm", "mode=-t", "mode=-s", "errno=25", "black_key_cap=", "blob_cap="} {
		if !strings.Contains(out, s) {
			t.Errorf("debug log lacks %q:\n%s", s, out)
		}
	}
}
