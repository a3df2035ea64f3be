package probe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/caamcrypt/caamcrypt/internal/header"
)

// probeSize is how much of the device Signatures reads: enough for the
// btrfs superblock (64 KiB + 4 KiB) and a swap signature at the end of a
// 64 KiB page, and for both caamcrypt header copies.
const probeSize = 72 << 10

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

// detector inspects the first probeSize bytes (zero-filled past the end of
// a short device) and returns its findings.
type detector func(b []byte) []Finding

// Signatures reports every known signature found on r: filesystems, swap,
// LUKS and caamcrypt headers, partition tables. An empty result means none
// of them was found, not that the device is empty. A device shorter than
// the probe area is read as far as it goes.
func Signatures(r io.ReaderAt) ([]Finding, error) {
	b := make([]byte, probeSize)
	n, err := r.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read device signatures: %w", err)
	}
	for i := n; i < len(b); i++ {
		b[i] = 0
	}
	var out []Finding
	out = append(out, caamcrypt(r)...)
	for _, d := range []detector{ext, fat, exfatNTFS, xfs, btrfs, squashfs, iso9660, swap, luks, partitionTable} {
		out = append(out, d(b)...)
	}
	return out, nil
}

// caamcrypt reports a caamcrypt header, valid or damaged: either way the
// device was an encrypted volume whose data would be lost.
func caamcrypt(r io.ReaderAt) []Finding {
	h, _, err := header.Read(r)
	switch {
	case err == nil:
		d := "caamcrypt volume, UUID " + h.UUID.String()
		if h.Label != "" {
			d += fmt.Sprintf(", label %q", h.Label)
		}
		return []Finding{{KindEncrypted, d}}
	case header.Has(r):
		return []Finding{{KindEncrypted, fmt.Sprintf("caamcrypt volume with an unreadable header (%v)", err)}}
	}
	return nil
}

// cstr returns the bytes of a fixed-size, NUL- or space-padded text field,
// trimmed, with non-printable bytes replaced so odd labels cannot garble a
// terminal.
func cstr(f []byte) string {
	if i := strings.IndexByte(string(f), 0); i >= 0 {
		f = f[:i]
	}
	s := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\uFFFD' {
			return '?'
		}
		return r
	}, string(f))
	return strings.TrimRight(s, " ")
}

// describe builds "<what>[, label "L"][, UUID U]".
func describe(what, label, uuid string) string {
	if label != "" {
		what += fmt.Sprintf(", label %q", label)
	}
	if uuid != "" {
		what += ", UUID " + uuid
	}
	return what
}

// uuidString formats 16 bytes in the usual 8-4-4-4-12 form (the byte order
// ext4, XFS, btrfs and swap use); all zero gives "".
func uuidString(b []byte) string {
	zero := true
	for _, c := range b[:16] {
		if c != 0 {
			zero = false
		}
	}
	if zero {
		return ""
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func isPow2(v, lo, hi uint32) bool {
	return v >= lo && v <= hi && v&(v-1) == 0
}
