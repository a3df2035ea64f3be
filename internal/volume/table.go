package volume

import (
	"fmt"

	"github.com/caamcrypt/caamcrypt/dm"
)

// cryptSpec is everything a dm-crypt table line of a volume needs.
type cryptSpec struct {
	Cipher     string
	KeyLen     int    // tagged black key length: the <len> of :<len>:logon:<desc>
	KeyDesc    string // logon key description
	Device     string // backing device path
	Offset     int64  // bytes from the device start
	Length     int64  // bytes mapped
	SectorSize int
	Discard    bool
}

// target builds the table line. The length is rounded down to whole
// encryption sectors (dm-crypt rejects a partial one); sector_size is
// always given, 512 too, as the seed's table does, so the table says
// exactly what the data was written with. iv_offset is 0: the plain IV is
// the 512-byte sector number within the mapping.
func (s cryptSpec) target() (dm.Target, error) {
	ss := int64(s.SectorSize)
	length := s.Length / ss * ss
	if length <= 0 {
		return dm.Target{}, fmt.Errorf("device %s: nothing to map: %d bytes at offset %d is less than one %d-byte sector", s.Device, s.Length, s.Offset, ss)
	}
	if s.Offset%ss != 0 {
		return dm.Target{}, fmt.Errorf("device %s: offset %d is not a multiple of sector size %d", s.Device, s.Offset, ss)
	}
	p := dm.CryptParams{
		Cipher:   s.Cipher,
		Key:      dm.LogonKeySpec(s.KeyLen, s.KeyDesc),
		IVOffset: 0,
		Device:   s.Device,
		Offset:   uint64(s.Offset / 512),
	}
	if s.Discard {
		p.Options = append(p.Options, "allow_discards")
	}
	p.Options = append(p.Options, fmt.Sprintf("sector_size:%d", s.SectorSize))
	return dm.Target{Start: 0, Length: uint64(length / 512), Type: "crypt", Params: p.String()}, nil
}
