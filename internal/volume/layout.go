package volume

import (
	"fmt"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/header"
)

// layout is what the table of an existing mapping must say for open to
// take it as this volume already open. dm-crypt decrypts with whatever the
// table names: the same device under another cipher, offset, IV offset or
// sector size reads as different data (docs/caam-abi.md §4), and calling
// that "already open" would let it be mounted and written.
type layout struct {
	cipher     string
	offset     uint64 // payload offset in 512-byte sectors
	sectorSize int
	keyLen     int // tagged black key length; 0 when unknown (plain volumes)
}

// expectedLayout is the layout of the volume open is asked for: from its
// header, or for a plain volume from the options (the seed's layout).
func expectedLayout(o OpenOptions, h *header.Header) layout {
	if h == nil {
		return layout{cipher: o.Cipher, sectorSize: o.SectorSize}
	}
	return layout{cipher: h.Cipher, offset: h.PayloadOffset / 512, sectorSize: int(h.SectorSize), keyLen: int(h.KeyLen)}
}

// differs names the first parameter of p that does not match l ("" when
// all match).
func (l layout) differs(p dm.CryptParams) string {
	ss, err := p.SectorSize()
	switch {
	case p.Cipher != l.cipher:
		return fmt.Sprintf("cipher (%s, the volume's is %s)", p.Cipher, l.cipher)
	case p.Offset != l.offset:
		return fmt.Sprintf("payload offset (sector %d, the volume's is %d)", p.Offset, l.offset)
	case p.IVOffset != 0:
		return fmt.Sprintf("IV offset (%d, caamcrypt uses 0)", p.IVOffset)
	case err != nil || ss != l.sectorSize:
		return fmt.Sprintf("sector size (%d, the volume's is %d)", ss, l.sectorSize)
	}
	if l.keyLen != 0 {
		k, err := dm.ParseKeyringKey(p.Key)
		if err != nil || k.Size != l.keyLen {
			return fmt.Sprintf("key (not a %d-byte keyring key)", l.keyLen)
		}
	}
	return ""
}
