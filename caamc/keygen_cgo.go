//go:build linux && cgo

package caamc

/*
#cgo CFLAGS: -I${SRCDIR}/../third_party/caam-keygen
#include <stddef.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include "caam_keygen.h"

// The driver's ABI is 56 bytes with the blob pointer at offset 48 on the
// targets that have a CAAM (arm64, 32-bit ARM EABI) and on x86_64 where the
// simulator runs (docs/caam-abi.md §2). Fail the build, not the ioctl, if
// a cross compiler ever lays it out otherwise.
#if defined(__aarch64__) || defined(__arm__) || defined(__x86_64__)
_Static_assert(sizeof(struct caam_keygen_cmd) == 56, "struct caam_keygen_cmd must be 56 bytes");
_Static_assert(offsetof(struct caam_keygen_cmd, blob) == 48, "caam_keygen_cmd.blob must be at offset 48");
#endif

// Request numbers as the C compiler computes them: _IOWR encodes
// sizeof(struct caam_keygen_cmd), which differs per ABI.
static unsigned long ck_req_create(void) { return CAAM_KEYGEN_IOCTL_CREATE; }
static unsigned long ck_req_import(void) { return CAAM_KEYGEN_IOCTL_IMPORT; }

// cgo cannot call the variadic ioctl(2) directly.
static int ck_ioctl(int fd, unsigned long req, struct caam_keygen_cmd *cmd) {
	return ioctl(fd, req, cmd);
}

// Zero through a volatile pointer so the stores cannot be elided before free.
static void ck_wipe(void *p, size_t n) {
	volatile unsigned char *q = p;
	while (n--)
		*q++ = 0;
}

// Size and field offsets as the C compiler lays them out, for the layout test.
static void ck_layout(size_t out[11]) {
	out[0] = sizeof(struct caam_keygen_cmd);
	out[1] = offsetof(struct caam_keygen_cmd, key_enc_len);
	out[2] = offsetof(struct caam_keygen_cmd, key_mode_len);
	out[3] = offsetof(struct caam_keygen_cmd, key_value_len);
	out[4] = offsetof(struct caam_keygen_cmd, black_key_len);
	out[5] = offsetof(struct caam_keygen_cmd, key_enc);
	out[6] = offsetof(struct caam_keygen_cmd, key_mode);
	out[7] = offsetof(struct caam_keygen_cmd, key_value);
	out[8] = offsetof(struct caam_keygen_cmd, black_key);
	out[9] = offsetof(struct caam_keygen_cmd, blob_len);
	out[10] = offsetof(struct caam_keygen_cmd, blob);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"github.com/sirupsen/logrus"
)

// Create asks the CAAM for a black key (random of spec.Size bytes, or
// wrapping spec.Plaintext) encrypted with enc, and its blob. Both come back
// tagged and are checked with ParseObject. Input is validated before the
// ioctl (errors wrap ErrKeySize, ErrBadPlaintext, ErrBadEncryption); a
// driver refusal is a *KernelError carrying the driver's message.
func (d *Device) Create(enc Encryption, spec KeySpec) (blackKey, blob []byte, err error) {
	if err := enc.validate(); err != nil {
		return nil, nil, err
	}
	redLen, err := spec.validate()
	if err != nil {
		return nil, nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return nil, nil, fmt.Errorf("caam-keygen create on %s: %w", d.path, os.ErrClosed)
	}

	var mem cArena
	defer mem.free()
	encBuf, err := mem.cstring(enc.String())
	if err != nil {
		return nil, nil, err
	}
	modeBuf, err := mem.cstring(spec.mode())
	if err != nil {
		return nil, nil, err
	}
	valueBuf, err := mem.alloc(spec.keyValueLen())
	if err != nil {
		return nil, nil, err
	}
	spec.putKeyValue(valueBuf.bytes())
	keyBuf, err := mem.alloc(blackKeyCapacity(enc, redLen))
	if err != nil {
		return nil, nil, err
	}
	blobBuf, err := mem.alloc(blobCapacity(redLen))
	if err != nil {
		return nil, nil, err
	}

	var cmd C.struct_caam_keygen_cmd
	cmd.key_enc_len = C.__u8(encBuf.n)
	cmd.key_enc = encBuf.addr()
	cmd.key_mode_len = C.__u8(modeBuf.n)
	cmd.key_mode = modeBuf.addr()
	cmd.key_value_len = C.__u16(spec.keyValueWireLen())
	cmd.key_value = valueBuf.addr()
	cmd.black_key_len = C.__u32(keyBuf.n)
	cmd.black_key = keyBuf.addr()
	cmd.blob_len = C.__u32(blobBuf.n)
	cmd.blob = blobBuf.addr()

	fields := logrus.Fields{
		"device": d.path, "op": "create", "enc": enc.String(), "mode": spec.mode(),
		"key_value": spec.traceValue(), "key_value_len": spec.keyValueWireLen(),
		"black_key_cap": keyBuf.n, "blob_cap": blobBuf.n,
	}
	errno := d.ioctl(C.ck_req_create(), &cmd, fields)
	gotKey, gotBlob := int(cmd.black_key_len), int(cmd.blob_len)
	if errno != 0 {
		// The driver writes its CREATE error text into the blob buffer.
		return nil, nil, d.kernelError("create", errno, blobBuf.bytes(), gotKey, keyBuf.n, gotBlob, blobBuf.n)
	}
	if gotKey > keyBuf.n || gotBlob > blobBuf.n {
		return nil, nil, fmt.Errorf("caam-keygen create on %s: driver reported a %d-byte key and a %d-byte blob "+
			"for %d- and %d-byte buffers", d.path, gotKey, gotBlob, keyBuf.n, blobBuf.n)
	}
	blackKey = append([]byte(nil), keyBuf.bytes()[:gotKey]...)
	blob = append([]byte(nil), blobBuf.bytes()[:gotBlob]...)
	if err := checkOutput("create", d.path, blackKey, KindBlackKey, enc, redLen); err != nil {
		return nil, nil, err
	}
	if err := checkOutput("create", d.path, blob, KindBlob, enc, redLen); err != nil {
		return nil, nil, err
	}
	return blackKey, blob, nil
}

// Import turns a tagged blob (from Create, possibly in an earlier boot)
// into a tagged black key valid until the next power-on reset. The blob is
// checked with ParseObject first (the driver copies blob_len bytes into a
// fixed buffer, so nothing oversized may reach it). A blob from another
// device, from before secure boot was closed, or tampered with fails the
// CAAM integrity check inside the driver: a *KernelError.
func (d *Device) Import(blob []byte) (blackKey []byte, err error) {
	obj, err := ParseObject(blob)
	if err != nil {
		return nil, fmt.Errorf("blob not imported: %w", err)
	}
	if obj.Kind() != KindBlob {
		return nil, fmt.Errorf("blob not imported: %w: object is a %s (%d bytes), not a blob",
			ErrBadTag, obj.Kind(), len(blob))
	}
	enc, redLen := obj.Encryption(), int(obj.Tag.RedKeyLen)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fd < 0 {
		return nil, fmt.Errorf("caam-keygen import on %s: %w", d.path, os.ErrClosed)
	}

	var mem cArena
	defer mem.free()
	blobBuf, err := mem.alloc(len(blob))
	if err != nil {
		return nil, err
	}
	copy(blobBuf.bytes(), blob)
	keyBuf, err := mem.alloc(blackKeyCapacity(enc, redLen))
	if err != nil {
		return nil, err
	}

	var cmd C.struct_caam_keygen_cmd
	cmd.black_key_len = C.__u32(keyBuf.n)
	cmd.black_key = keyBuf.addr()
	cmd.blob_len = C.__u32(blobBuf.n)
	cmd.blob = blobBuf.addr()

	fields := logrus.Fields{
		"device": d.path, "op": "import", "enc": enc.String(), "red_key_len": redLen,
		"blob_len": blobBuf.n, "black_key_cap": keyBuf.n,
	}
	errno := d.ioctl(C.ck_req_import(), &cmd, fields)
	gotKey := int(cmd.black_key_len)
	if errno != 0 {
		// The driver writes its IMPORT error text into the black key buffer.
		return nil, d.kernelError("import", errno, keyBuf.bytes(), gotKey, keyBuf.n, 0, 0)
	}
	if gotKey > keyBuf.n {
		return nil, fmt.Errorf("caam-keygen import on %s: driver reported a %d-byte key for a %d-byte buffer",
			d.path, gotKey, keyBuf.n)
	}
	blackKey = append([]byte(nil), keyBuf.bytes()[:gotKey]...)
	if err := checkOutput("import", d.path, blackKey, KindBlackKey, enc, redLen); err != nil {
		return nil, err
	}
	return blackKey, nil
}

// ioctl issues one request with d.mu held, retrying on EINTR, and traces
// the arguments (no key bytes) and the result. A retry starts from the
// original struct, in case the interrupted call changed its lengths.
func (d *Device) ioctl(req C.ulong, cmd *C.struct_caam_keygen_cmd, fields logrus.Fields) syscall.Errno {
	saved := *cmd
	for {
		*cmd = saved
		r, err := C.ck_ioctl(C.int(d.fd), req, cmd)
		var errno syscall.Errno
		if r < 0 {
			if !errors.As(err, &errno) {
				errno = syscall.EIO // ioctl failed without errno: should not happen
			}
		}
		trace(fields).WithFields(logrus.Fields{
			"errno": int(errno), "err": errnoText(errno),
			"black_key_len_out": int(cmd.black_key_len), "blob_len_out": int(cmd.blob_len),
		}).Debug("caam-keygen ioctl")
		if errno != syscall.EINTR {
			return errno
		}
	}
}

// cBuf is C memory handed to the driver; C memory because the driver
// receives its address inside the struct, where Go pointers may not go.
type cBuf struct {
	p unsafe.Pointer
	n int
}

func (b *cBuf) bytes() []byte { return unsafe.Slice((*byte)(b.p), b.n) }

func (b *cBuf) addr() C.__u64 { return C.__u64(uintptr(b.p)) }

// cArena owns every C buffer of one ioctl; free zeroes and frees them all,
// since they may hold a plaintext key, black key or blob.
type cArena struct{ bufs []*cBuf }

func (a *cArena) alloc(n int) (*cBuf, error) {
	p := C.calloc(C.size_t(n), 1)
	if p == nil {
		return nil, fmt.Errorf("caamc: allocating %d bytes of C memory: %w", n, syscall.ENOMEM)
	}
	b := &cBuf{p: p, n: n}
	a.bufs = append(a.bufs, b)
	return b, nil
}

// cstring copies s plus a NUL into C memory; its n counts the NUL, which is
// what key_enc_len and key_mode_len expect.
func (a *cArena) cstring(s string) (*cBuf, error) {
	b, err := a.alloc(len(s) + 1)
	if err != nil {
		return nil, err
	}
	copy(b.bytes(), s)
	return b, nil
}

func (a *cArena) free() {
	for _, b := range a.bufs {
		C.ck_wipe(b.p, C.size_t(b.n))
		C.free(b.p)
		b.p = nil
	}
	a.bufs = nil
}

// cmdLayoutC returns sizeof(struct caam_keygen_cmd) and its ten field
// offsets as computed by the C compiler.
func cmdLayoutC() (size uintptr, offsets [10]uintptr) {
	var out [11]C.size_t
	C.ck_layout(&out[0])
	for i := range offsets {
		offsets[i] = uintptr(out[i+1])
	}
	return uintptr(out[0]), offsets
}

// cmdLayoutGo returns the same as cmdLayoutC from cgo's Go translation of
// the struct, which is what the Go code above writes through.
func cmdLayoutGo() (size uintptr, offsets [10]uintptr) {
	var c C.struct_caam_keygen_cmd
	return unsafe.Sizeof(c), [10]uintptr{
		unsafe.Offsetof(c.key_enc_len), unsafe.Offsetof(c.key_mode_len),
		unsafe.Offsetof(c.key_value_len), unsafe.Offsetof(c.black_key_len),
		unsafe.Offsetof(c.key_enc), unsafe.Offsetof(c.key_mode),
		unsafe.Offsetof(c.key_value), unsafe.Offsetof(c.black_key),
		unsafe.Offsetof(c.blob_len), unsafe.Offsetof(c.blob),
	}
}

// requestNumbers returns the CREATE and IMPORT request numbers.
func requestNumbers() (create, imp uint64) {
	return uint64(C.ck_req_create()), uint64(C.ck_req_import())
}
