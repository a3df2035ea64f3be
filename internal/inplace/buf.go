package inplace

import (
	"io"
	"unsafe"
)

// Align is the offset, length and memory alignment of every transfer:
// the devices are opened with O_DIRECT (no page cache between the raw
// device and the mapping over it), which needs the logical block size;
// 4096 covers every block size up to 4 KiB.
const Align = 4096

// Dev is an open device: the raw device or a dm-crypt mapping over it.
type Dev interface {
	io.ReaderAt
	io.WriterAt
	// Sync makes what was written durable (a flush of the device cache).
	Sync() error
}

// AlignedBuf returns n bytes whose first byte is Align-aligned (O_DIRECT
// needs aligned memory).
func AlignedBuf(n int) []byte {
	raw := make([]byte, n+Align)
	shift := int(uintptr(Align)-uintptr(unsafe.Pointer(&raw[0]))%Align) % Align
	return raw[shift : shift+n : shift+n]
}
