package dm

import (
	"fmt"
	"strconv"
	"strings"
)

// CryptParams are the parameters of a dm-crypt target (everything after
// "<start> <length> crypt" in a table line), in the kernel's order:
//
//	<cipher> <key> <iv_offset> <device path or maj:min> <offset> [<#opts> <opts...>]
//
// Key is either hex key bytes or a keyring reference ":<size>:<type>:<desc>"
// (see KeyringKey); caamcrypt always uses the keyring form with a logon key
// holding the CAAM tagged black key, e.g. ":36:logon:logkey:".
type CryptParams struct {
	Cipher   string
	Key      string
	IVOffset uint64
	Device   string
	Offset   uint64
	Options  []string
}

// String formats p as the kernel expects it. It contains Key verbatim: use
// Redacted for logs.
func (p CryptParams) String() string {
	s := fmt.Sprintf("%s %s %d %s %d", p.Cipher, p.Key, p.IVOffset, p.Device, p.Offset)
	if len(p.Options) > 0 {
		s += fmt.Sprintf(" %d %s", len(p.Options), strings.Join(p.Options, " "))
	}
	return s
}

// Redacted is String with a hex key replaced by "<redacted>".
func (p CryptParams) Redacted() string { return RedactParams(p.String()) }

// ParseCryptParams parses crypt target parameters as written in a table or
// printed by the kernel (DM_TABLE_STATUS). It checks the structure (field
// count, numbers, option count) only; Validate checks the values. Errors
// never quote the key.
func ParseCryptParams(s string) (CryptParams, error) {
	f := strings.Fields(s)
	if len(f) < 5 {
		return CryptParams{}, fmt.Errorf("dm: crypt params: want at least 5 fields (<cipher> <key> <iv_offset> <device> <offset>), got %d: %w", len(f), ErrInvalid)
	}
	p := CryptParams{Cipher: f[0], Key: f[1], Device: f[3]}
	var err error
	if p.IVOffset, err = strconv.ParseUint(f[2], 10, 64); err != nil {
		return CryptParams{}, fmt.Errorf("dm: crypt params: iv_offset %q is not a sector number: %w", f[2], ErrInvalid)
	}
	if p.Offset, err = strconv.ParseUint(f[4], 10, 64); err != nil {
		return CryptParams{}, fmt.Errorf("dm: crypt params: offset %q is not a sector number: %w", f[4], ErrInvalid)
	}
	if len(f) == 5 {
		return p, nil
	}
	n, err := strconv.Atoi(f[5])
	if err != nil || n < 0 {
		return CryptParams{}, fmt.Errorf("dm: crypt params: option count %q is not a number: %w", f[5], ErrInvalid)
	}
	if got := len(f) - 6; got != n {
		return CryptParams{}, fmt.Errorf("dm: crypt params: option count says %d but %d options follow: %w", n, got, ErrInvalid)
	}
	if n > 0 {
		p.Options = append([]string(nil), f[6:]...)
	}
	return p, nil
}

// knownCryptOptions are the optional dm-crypt parameters caamcrypt accepts
// (dm-crypt.rst; no_read/write_workqueue need 5.9+). sector_size:<n> is
// checked apart.
var knownCryptOptions = map[string]bool{
	"allow_discards":         true,
	"same_cpu_crypt":         true,
	"submit_from_crypt_cpus": true,
	"no_read_workqueue":      true,
	"no_write_workqueue":     true,
	"iv_large_sectors":       true,
}

// Validate checks the values of p the way dm-crypt will, so a mistake is
// reported with its cause instead of a bare EINVAL from the table load.
func (p CryptParams) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("dm: crypt params: "+format+": %w", append(a, ErrInvalid)...)
	}
	if p.Cipher == "" || strings.ContainsAny(p.Cipher, " \t\n") {
		return bad("cipher is empty or contains blanks")
	}
	if err := validateCryptKey(p.Key); err != nil {
		return err
	}
	if !validDeviceRef(p.Device) {
		return bad("device %q is neither an absolute path nor <major>:<minor>", p.Device)
	}
	seen := map[string]bool{}
	for _, o := range p.Options {
		name := o
		if i := strings.IndexByte(o, ':'); i >= 0 {
			name = o[:i]
		}
		if seen[name] {
			return bad("option %q given twice", name)
		}
		seen[name] = true
		if name == "sector_size" {
			if _, err := p.sectorSizeOf(o); err != nil {
				return err
			}
			continue
		}
		if !knownCryptOptions[o] {
			return bad("unknown option %q (known: allow_discards same_cpu_crypt submit_from_crypt_cpus no_read_workqueue no_write_workqueue iv_large_sectors sector_size:<512..4096>)", o)
		}
	}
	ss, err := p.SectorSize()
	if err != nil {
		return err
	}
	// dm-crypt refuses a start offset that is not a whole encryption sector.
	if p.Offset%uint64(ss/512) != 0 {
		return bad("offset %d is not a multiple of sector_size %d (%d sectors)", p.Offset, ss, ss/512)
	}
	return nil
}

// SectorSize returns the encryption sector size in bytes: the sector_size
// option, or 512 when absent. Data written with one size reads as garbage
// with another, so it is a format-time choice.
func (p CryptParams) SectorSize() (int, error) {
	for _, o := range p.Options {
		if strings.HasPrefix(o, "sector_size:") {
			return p.sectorSizeOf(o)
		}
	}
	return 512, nil
}

func (p CryptParams) sectorSizeOf(opt string) (int, error) {
	v, err := strconv.Atoi(strings.TrimPrefix(opt, "sector_size:"))
	if err != nil || v < 512 || v > 4096 || v&(v-1) != 0 {
		return 0, fmt.Errorf("dm: crypt params: %q: sector_size must be a power of two from 512 to 4096: %w", opt, ErrInvalid)
	}
	return v, nil
}

// validDeviceRef accepts an absolute path or "<major>:<minor>".
func validDeviceRef(s string) bool {
	if strings.HasPrefix(s, "/") {
		return len(s) > 1
	}
	maj, min, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	_, e1 := strconv.ParseUint(maj, 10, 32)
	_, e2 := strconv.ParseUint(min, 10, 32)
	return e1 == nil && e2 == nil
}

// validateCryptKey accepts "-" (no key), a keyring reference, or hex bytes.
func validateCryptKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("dm: crypt params: key is empty: %w", ErrInvalid)
	case key == "-":
		return nil
	case strings.HasPrefix(key, ":"):
		_, err := ParseKeyringKey(key)
		return err
	}
	if len(key)%2 != 0 || strings.Trim(key, "0123456789abcdefABCDEF") != "" {
		return fmt.Errorf("dm: crypt params: key is neither hex bytes nor a keyring reference :<size>:<type>:<description>: %w", ErrInvalid)
	}
	return nil
}
