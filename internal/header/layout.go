package header

// On-disk layout constants. FORMAT.md documents the same offsets in prose;
// change both together (and bump the major version when an existing field
// moves or changes meaning).

import "github.com/caamcrypt/caamcrypt/caamc"

const (
	// CopySize is the size of one header copy in bytes.
	CopySize = 4096
	// CheckOffset is where the key-check area starts: CheckSize bytes that
	// the volume code writes through the dm-crypt mapping (so they are
	// encrypted with the volume key) at format time and compares at open.
	// It lies between copy B and the payload, in the 1 MiB reserved area.
	CheckOffset = 512 << 10
	// CheckSize is the size of the key-check area in bytes.
	CheckSize = 4096
	// DefaultPayloadOffset is where the encrypted payload starts by default:
	// 1 MiB keeps the payload aligned to flash erase blocks and leaves room
	// for both header copies and the check area.
	DefaultPayloadOffset = 1 << 20
	// MinPayloadOffset is the smallest payload offset a header may record.
	MinPayloadOffset = 1 << 20

	// CurrentVersion is the major format version this package writes.
	// Readers refuse other major versions with ErrVersion.
	CurrentVersion = 1
	// currentMinor is written in the minor version field. Minor versions
	// only add fields in bytes that are reserved (zero) in older minors, so
	// readers accept any minor of a major they know. Minor 1 gives the
	// flags field its first bit (FlagFormatting); minor 0 wrote flags 0.
	// Minor 2 adds FlagTransition (an in-place reencrypt under way).
	currentMinor = 2

	// FlagFormatting marks a header written by a format that has not
	// finished: the key-check area, the mapping or the filesystem may be
	// missing. Open refuses such a volume ("format did not finish", never
	// "wrong key") and format overwrites it without --force. Format clears
	// the flag (rewriting both copies) as its last step on the device.
	FlagFormatting uint32 = 1 << 0
	// FlagTransition (minor 2) marks a volume whose payload an in-place
	// reencrypt is rewriting: part of it is under the key of this header,
	// part under the key in the transition record (FORMAT.md). Every
	// command but the one that finishes the work refuses such a volume; a
	// caamcrypt of minor 1 refuses it as an unknown flag, never as a wrong key.
	FlagTransition uint32 = 1 << 1
	// knownFlags are the flag bits this package writes; Marshal refuses
	// others. Readers keep unknown bits (a later minor may add some).
	knownFlags = FlagFormatting | FlagTransition

	// BackendCAAMBlob is the only key backend of format version 1: the volume
	// key is a CAAM black key re-created at every boot from the tagged blob
	// stored in the header (caam-keygen IMPORT).
	BackendCAAMBlob = "caam-blob"

	// MaxLabelLen is the longest label in bytes (the field is 48 bytes and
	// always NUL-terminated).
	MaxLabelLen = 47
	// MinBlobLen is the shortest tagged blob accepted: the caam-keygen
	// driver rejects IMPORT with blob_len <= 20 (20 = tag size).
	MinBlobLen = 21
	// MaxBlobLen is the largest tagged blob the header can hold. caam-keygen
	// blobs are at most 144 bytes (64-byte red key).
	MaxBlobLen = 256

	// TagMagic is the first little-endian u32 of a CAAM tagged object
	// ("TagO"), see docs/caam-abi.md §3.
	TagMagic = caamc.TagMagic
	// tagSize is the size of the tag that prefixes CAAM tagged objects.
	tagSize = caamc.TagSize
)

// CopyOffsets are the byte offsets of header copy A and copy B. Copy B sits
// at 64 KiB so that a single bad flash erase block or a stray write of the
// first sectors (an mkfs or dd to the wrong device) rarely kills both.
var CopyOffsets = [2]int64{0, 64 << 10}

// Magic is the first 10 bytes of every header copy.
var Magic = [10]byte{'C', 'A', 'A', 'M', 'C', 'R', 'Y', 'P', 'T', 0}

// Field offsets inside one copy (see FORMAT.md).
const (
	offMagic         = 0   // [10]byte
	offMajor         = 10  // u16
	offMinor         = 12  // u16
	offHeaderSize    = 14  // u16, CopySize
	offFlags         = 16  // u32, FlagFormatting or 0
	offUUID          = 20  // [16]byte
	offLabel         = 36  // [48]byte
	offBackend       = 84  // [16]byte
	offCipher        = 100 // [64]byte
	offKeyEnc        = 164 // [8]byte
	offRedKeyLen     = 172 // u32
	offKeyLen        = 176 // u32
	offSectorSize    = 180 // u32
	offBlobLen       = 184 // u32
	offPayloadOffset = 188 // u64
	offPayloadSize   = 196 // u64
	offCreatedSec    = 204 // i64
	offCreatedNsec   = 212 // u32
	offReserved1     = 216 // [40]byte, zero
	offBlob          = 256 // [256]byte
	offReserved2     = 512 // up to offChecksum, zero
	offChecksum      = CopySize - 32

	lenLabel   = 48
	lenBackend = 16
	lenCipher  = 64
	lenKeyEnc  = 8
)
