package header

import (
	"time"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/caamc"
)

// Header is the decoded caamcrypt volume header: what open needs to turn the
// device back into a dm-crypt mapping.
type Header struct {
	// Version is the major format version; 0 in a Header given to Marshal
	// means CurrentVersion.
	Version uint16
	// Flags holds FlagFormatting while a format is under way (format
	// minor 1); 0 in a finished volume. Unknown bits read are kept.
	Flags uint32
	// UUID identifies the volume (UUID= in caamtab); never the zero UUID.
	UUID uuid.UUID
	// Label is a user name for the volume (LABEL= in caamtab), at most
	// MaxLabelLen bytes, no NUL bytes, may be empty.
	Label string
	// Backend names how the volume key is obtained; BackendCAAMBlob.
	Backend string
	// Cipher is the dm-crypt cipher spec, e.g. "capi:tk(cbc(aes))-plain".
	Cipher string
	// KeyEnc is the black key encryption, "ecb" or "ccm".
	KeyEnc string
	// RedKeyLen is the red (plaintext) key length in bytes, 16..64.
	RedKeyLen uint32
	// KeyLen is the tagged black key length: the <len> in the dm-crypt key
	// spec ":<len>:logon:<desc>" (36 for a 16-byte ECB key). It must equal
	// KeyLenFor(KeyEnc, RedKeyLen).
	KeyLen uint32
	// SectorSize is the dm-crypt sector_size, a power of two in 512..4096.
	// A format-time choice: data written with one reads as garbage with another.
	SectorSize uint32
	// PayloadOffset is the byte offset of the encrypted payload, a multiple
	// of SectorSize and at least MinPayloadOffset.
	PayloadOffset uint64
	// PayloadSize is the payload length in bytes, a multiple of SectorSize;
	// 0 means "to the end of the device".
	PayloadSize uint64
	// Created is the format time (stored as Unix seconds and nanoseconds).
	Created time.Time
	// Blob is the CAAM tagged blob as caam-keygen CREATE returned it,
	// MinBlobLen..MaxBlobLen bytes. It is sealed by the CAAM, not a secret
	// in the clear, but it is still never printed.
	Blob []byte
}

// KeyLenFor returns the tagged black key length caam-keygen produces for a
// red key of redLen bytes with encryption enc ("ecb"/"ccm"), following
// docs/caam-abi.md §3: tag (20) + roundup(L,16) for ECB,
// tag + roundup(L,8)+12 for CCM. It returns 0 for an unknown enc.
func KeyLenFor(enc string, redLen uint32) uint32 {
	var e caamc.Encryption
	switch enc {
	case "ecb":
		e = caamc.ECB
	case "ccm":
		e = caamc.CCM
	default:
		return 0
	}
	return uint32(caamc.TagSize + caamc.BlackKeySize(e, int(redLen)))
}

// Unfinished reports whether the header was written by a format that did
// not finish (FlagFormatting is set).
func (h *Header) Unfinished() bool { return h.Flags&FlagFormatting != 0 }

// InTransition reports whether an in-place reencrypt of the volume has not
// finished (FlagTransition is set).
func (h *Header) InTransition() bool { return h.Flags&FlagTransition != 0 }
