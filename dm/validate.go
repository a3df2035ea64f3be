package dm

import (
	"fmt"
	"strings"
)

// Kernel limits from linux/dm-ioctl.h: DM_NAME_LEN and DM_UUID_LEN include
// the terminating NUL.
const (
	maxNameLen = 127
	maxUUIDLen = 128
)

// udevSafe reports whether every byte of s is one libdevmapper passes to
// udev unmangled (alphanumerics and #+-.:=@_); others would be hex-mangled
// into the /dev/mapper name, so caamcrypt refuses them.
func udevSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("#+-.:=@_", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func validateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("device name is empty: %w", ErrInvalid)
	case len(name) > maxNameLen:
		return fmt.Errorf("device name is %d bytes, the kernel allows %d: %w", len(name), maxNameLen, ErrInvalid)
	case name == "." || name == ".." || name == "control":
		return fmt.Errorf("device name %q is reserved in /dev/mapper: %w", name, ErrInvalid)
	case !udevSafe(name):
		return fmt.Errorf("device name %q may only use letters, digits and #+-.:=@_: %w", name, ErrInvalid)
	}
	return nil
}

func validateUUID(uuid string) error {
	if len(uuid) > maxUUIDLen {
		return fmt.Errorf("UUID is %d bytes, the kernel allows %d: %w", len(uuid), maxUUIDLen, ErrInvalid)
	}
	if !udevSafe(uuid) {
		return fmt.Errorf("UUID %q may only use letters, digits and #+-.:=@_: %w", uuid, ErrInvalid)
	}
	return nil
}

// validateTargets checks what the kernel's table loader checks first: the
// targets start at sector 0 and follow each other without gaps (dm-table.c
// refuses a gap), each has a length and a one-word type. Crypt targets are
// also parsed and validated, and their length must be a whole number of
// encryption sectors.
func validateTargets(targets []Target) error {
	if len(targets) == 0 {
		return fmt.Errorf("table has no targets: %w", ErrInvalid)
	}
	var next uint64
	for i, t := range targets {
		if t.Type == "" || strings.ContainsAny(t.Type, " \t\n") {
			return fmt.Errorf("target %d: type %q is empty or has blanks: %w", i, t.Type, ErrInvalid)
		}
		if t.Length == 0 {
			return fmt.Errorf("target %d (%s): length is 0: %w", i, t.Type, ErrInvalid)
		}
		if t.Start != next {
			return fmt.Errorf("target %d (%s): starts at sector %d, want %d (targets must be contiguous from 0): %w", i, t.Type, t.Start, next, ErrInvalid)
		}
		if strings.ContainsAny(t.Params, "\n\x00") {
			return fmt.Errorf("target %d (%s): parameters contain a newline or NUL: %w", i, t.Type, ErrInvalid)
		}
		next = t.Start + t.Length
		if t.Type != "crypt" {
			continue
		}
		p, err := ParseCryptParams(t.Params)
		if err != nil {
			return fmt.Errorf("target %d: %w", i, err)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("target %d: %w", i, err)
		}
		ss, _ := p.SectorSize()
		if t.Length%uint64(ss/512) != 0 {
			return fmt.Errorf("target %d (crypt): length %d sectors is not a multiple of sector_size %d: %w", i, t.Length, ss, ErrInvalid)
		}
	}
	return nil
}

// targetKind names a table for messages: the common type of its targets
// ("crypt"), or "" when they differ.
func targetKind(targets []Target) string {
	if len(targets) == 0 {
		return ""
	}
	for _, t := range targets[1:] {
		if t.Type != targets[0].Type {
			return ""
		}
	}
	return targets[0].Type
}

// redactTarget returns t with crypt parameters redacted, for logs and Table.
func redactTarget(t Target) Target {
	if t.Type == "crypt" {
		t.Params = RedactParams(t.Params)
	}
	return t
}
