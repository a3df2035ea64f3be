package header

import (
	"errors"
	"fmt"
)

var (
	// ErrNoHeader means neither header copy carries the caamcrypt magic:
	// the device is not a caamcrypt volume (or both copies were overwritten).
	ErrNoHeader = errors.New("no caamcrypt header")
	// ErrCorrupt means a header copy has the magic but fails its checksum or
	// holds impossible field values; from Read it means both copies do.
	ErrCorrupt = errors.New("caamcrypt header is corrupt")
	// ErrVersion means the header's major format version is not one this
	// program knows: a newer caamcrypt wrote it.
	ErrVersion = errors.New("unsupported caamcrypt header version")
	// ErrInvalid means a Header given to Marshal or Write has a field value
	// that the format cannot hold or open could not use.
	ErrInvalid = errors.New("invalid caamcrypt header")
)

// FieldError names the header field that failed validation and why. Marshal
// returns it wrapped with ErrInvalid, Unmarshal wrapped with ErrCorrupt.
type FieldError struct {
	Field  string // Go field name, e.g. "SectorSize"
	Reason string // what is wrong, e.g. "1000 is not a power of two in 512..4096"
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("header field %s: %s", e.Field, e.Reason)
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
