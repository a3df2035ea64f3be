package caamc

import (
	"bytes"
	"fmt"
	"strconv"
)

// Red (plaintext) key sizes the caam-keygen driver accepts; outside this
// range it fails with EINVAL "Invalid key size, expected values are between
// 16 and 64 bytes." (docs/caam-abi.md §2).
const (
	MinKeySize = 16
	MaxKeySize = 64
)

// keySizeText is the driver's own words for a size outside MinKeySize..MaxKeySize.
// caamcrypt checks the size before the ioctl, and quotes these words so that
// users who know caam-keygen recognise the refusal.
const keySizeText = "Invalid key size, expected values are between 16 and 64 bytes."

// KeySpec says which key Create makes. Set exactly one field: Size for a key
// the CAAM draws from its RNG (key mode "-s"), or Plaintext to wrap a key
// you supply (key mode "-t").
type KeySpec struct {
	Size      int    // random key of Size bytes, 16..64
	Plaintext []byte // or this key, 16..64 bytes, no NUL byte
}

// Validate reports what is wrong with the spec (ErrKeySize,
// ErrBadPlaintext), without a device: callers check the command line with
// it before they open the CAAM, so a bad size is a usage error even on a
// machine without one.
func (s KeySpec) Validate() error {
	_, err := s.validate()
	return err
}

// validate checks the spec in Go before any ioctl and returns the red key
// length the driver will use.
func (s KeySpec) validate() (int, error) {
	switch {
	case s.Size != 0 && s.Plaintext != nil:
		return 0, fmt.Errorf("%w: key spec sets both a size (%d) and a plaintext; set exactly one", ErrKeySize, s.Size)
	case s.Plaintext != nil:
		n := len(s.Plaintext)
		if n < MinKeySize || n > MaxKeySize {
			return 0, fmt.Errorf("%w: plaintext key is %d bytes: %s", ErrKeySize, n, keySizeText)
		}
		// The driver takes the plaintext length with strlen(), so a NUL
		// byte would make it wrap a shorter, different key without error.
		if i := bytes.IndexByte(s.Plaintext, 0); i >= 0 {
			return 0, fmt.Errorf("%w: plaintext key has a NUL byte at offset %d; the driver reads it as a C string "+
				"and would wrap only the first %d bytes; use a key without zero bytes or a random key", ErrBadPlaintext, i, i)
		}
		return n, nil
	case s.Size == 0:
		return 0, fmt.Errorf("%w: key spec sets neither a size nor a plaintext; set exactly one", ErrKeySize)
	default:
		if s.Size < MinKeySize || s.Size > MaxKeySize {
			return 0, fmt.Errorf("%w: key size %d bytes: %s", ErrKeySize, s.Size, keySizeText)
		}
		return s.Size, nil
	}
}

// mode is the key_mode string: "-s" random, "-t" from plaintext.
func (s KeySpec) mode() string {
	if s.Plaintext != nil {
		return "-t"
	}
	return "-s"
}

// keyValueLen is the size of the key_value buffer: the bytes putKeyValue
// writes, NUL included, so the driver may read it as a C string.
func (s KeySpec) keyValueLen() int {
	if s.Plaintext != nil {
		return len(s.Plaintext) + 1
	}
	return len(strconv.Itoa(s.Size)) + 1
}

// keyValueWireLen is key_value_len as sent to the driver. For "-t" it is
// the plaintext's length without the NUL: the driver takes key_value_len as
// the red key length (NXP's caam-keygen sends strlen() of a text key and
// the byte count of a hex key), so counting the NUL wrapped a key one byte
// longer than asked, ending in a zero byte (seen against caamsim). For "-s"
// the driver parses decimal text; the NUL is sent and counted there, for
// drivers that do not terminate the copied buffer themselves.
func (s KeySpec) keyValueWireLen() int {
	if s.Plaintext != nil {
		return len(s.Plaintext)
	}
	return s.keyValueLen()
}

// putKeyValue writes key_value into dst (len keyValueLen), which is C memory
// so that the plaintext gets no extra copy on the Go heap.
func (s KeySpec) putKeyValue(dst []byte) {
	var n int
	if s.Plaintext != nil {
		n = copy(dst, s.Plaintext)
	} else {
		n = copy(dst, strconv.Itoa(s.Size))
	}
	dst[n] = 0
}

// traceValue is how key_value appears in debug logs: the size for "-s",
// never the plaintext.
func (s KeySpec) traceValue() string {
	if s.Plaintext != nil {
		return redacted
	}
	return strconv.Itoa(s.Size)
}
