package header

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Info is a printable view of a Header for `caamcrypt header dump` and
// `status --json`. It holds no key material: the blob appears only as its
// length and a fingerprint (the first 8 bytes of its SHA-256, in hex), enough
// to tell two blobs apart or match a header against a blob file.
type Info struct {
	Version         uint16 `json:"version"`
	UUID            string `json:"uuid"`
	Label           string `json:"label"`
	Backend         string `json:"backend"`
	Cipher          string `json:"cipher"`
	KeyEnc          string `json:"key_encryption"`
	RedKeyLen       uint32 `json:"red_key_bytes"`
	KeyLen          uint32 `json:"black_key_bytes"`
	SectorSize      uint32 `json:"sector_size"`
	PayloadOffset   uint64 `json:"payload_offset"`
	PayloadSize     uint64 `json:"payload_size"` // 0: to the end of the device
	Created         string `json:"created"`      // RFC 3339, UTC
	BlobLen         int    `json:"blob_bytes"`
	BlobFingerprint string `json:"blob_sha256_prefix"`
}

// Dump returns the printable view of h.
func Dump(h *Header) Info {
	return Info{
		Version:         h.Version,
		UUID:            h.UUID.String(),
		Label:           h.Label,
		Backend:         h.Backend,
		Cipher:          h.Cipher,
		KeyEnc:          h.KeyEnc,
		RedKeyLen:       h.RedKeyLen,
		KeyLen:          h.KeyLen,
		SectorSize:      h.SectorSize,
		PayloadOffset:   h.PayloadOffset,
		PayloadSize:     h.PayloadSize,
		Created:         h.Created.UTC().Format(time.RFC3339),
		BlobLen:         len(h.Blob),
		BlobFingerprint: Fingerprint(h.Blob),
	}
}

// Fingerprint returns the first 8 bytes of the SHA-256 of b in hex: a
// short identifier for a blob that reveals nothing useful about it.
func Fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// String renders the info as aligned "name: value" lines for a terminal.
func (i Info) String() string {
	size := "to end of device"
	if i.PayloadSize != 0 {
		size = fmt.Sprintf("%d bytes", i.PayloadSize)
	}
	rows := [][2]string{
		{"Version", fmt.Sprint(i.Version)},
		{"UUID", i.UUID},
		{"Label", i.Label},
		{"Backend", i.Backend},
		{"Cipher", i.Cipher},
		{"Key", fmt.Sprintf("%s, %d-byte red key, %d-byte tagged black key", i.KeyEnc, i.RedKeyLen, i.KeyLen)},
		{"Sector size", fmt.Sprint(i.SectorSize)},
		{"Payload offset", fmt.Sprintf("%d bytes", i.PayloadOffset)},
		{"Payload size", size},
		{"Created", i.Created},
		{"Blob", fmt.Sprintf("%d bytes, sha256 %s...", i.BlobLen, i.BlobFingerprint)},
	}
	var sb strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&sb, "%-15s %s\n", r[0]+":", r[1])
	}
	return sb.String()
}
