package caamtab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// ParseError is a problem on one line of a caamtab file. It wraps
// fail.ErrUsage.
type ParseError struct {
	File string // file name as given, "caamtab" for unnamed input
	Line int    // 1-based
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s line %d: %s", e.File, e.Line, e.Msg)
}

// Unwrap makes errors.Is(err, fail.ErrUsage) true.
func (e *ParseError) Unwrap() error { return fail.ErrUsage }

// Parse reads caamtab text; errors name the input "caamtab".
func Parse(r io.Reader) ([]Entry, error) { return ParseNamed(r, "caamtab") }

// ParseFile reads and parses the file at path. A missing file wraps
// fail.ErrNotFound.
func ParseFile(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: volume table %s: %w (--config names another)", fail.ErrNotFound, path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("open volume table: %w", err)
	}
	defer f.Close()
	return ParseNamed(f, path)
}

// ParseNamed reads caamtab text; name is used in error messages. It stops
// at the first error: a half-understood boot configuration is not used.
func ParseNamed(r io.Reader, name string) ([]Entry, error) {
	var out []Entry
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		for i, f := range fields {
			if strings.HasPrefix(f, "#") {
				fields = fields[:i]
				break
			}
		}
		if len(fields) == 0 {
			continue
		}
		e, msg := parseLine(fields)
		if msg != "" {
			return nil, &ParseError{File: name, Line: n, Msg: msg}
		}
		if first, dup := seen[e.Name]; dup {
			return nil, &ParseError{File: name, Line: n, Msg: fmt.Sprintf("volume name %q already used on line %d", e.Name, first)}
		}
		seen[e.Name] = n
		e.Line = n
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read volume table %s: %w", name, err)
	}
	return out, nil
}

// parseLine turns the fields of one line into an Entry, or returns a
// message saying what is wrong.
func parseLine(f []string) (Entry, string) {
	if len(f) < 2 {
		return Entry{}, fmt.Sprintf("need at least a name and a device, got %q", strings.Join(f, " "))
	}
	if len(f) > 4 {
		return Entry{}, fmt.Sprintf("too many fields (%d): expected name, device, key, options (options are comma-separated without spaces)", len(f))
	}
	e := Entry{Name: f[0], Device: f[1]}
	if msg := checkName(e.Name); msg != "" {
		return Entry{}, msg
	}
	if msg := checkDevice(e.Device); msg != "" {
		return Entry{}, msg
	}
	if len(f) >= 3 {
		k := f[2]
		if strings.Contains(k, "=") {
			return Entry{}, fmt.Sprintf("key %q looks like options: write '-' in the key column before the options", k)
		}
		if k != "-" && k != "none" {
			if msg := checkKey(k); msg != "" {
				return Entry{}, msg
			}
			e.Key = k
		}
	}
	if len(f) == 4 {
		o, msg := parseOptions(f[3])
		if msg != "" {
			return Entry{}, msg
		}
		e.Options = o
	}
	return e, finishType(&e)
}

// finishType infers the volume type from the key column when type= is
// absent, and refuses contradictions.
func finishType(e *Entry) string {
	o := &e.Options
	switch {
	case o.Type == "" && e.Key == "":
		o.Type = TypeCaamcrypt
	case o.Type == "":
		o.Type = TypePlain
	case o.Type == TypeCaamcrypt && e.Key != "":
		return fmt.Sprintf("caamcrypt volume %q takes its blob from the volume header: write '-' as key, not %q", e.Name, e.Key)
	case o.Type == TypePlain && e.Key == "":
		return fmt.Sprintf("plain volume %q needs a key name or path in the key column", e.Name)
	}
	if o.Cipher != "" && o.Type != TypePlain {
		return "cipher= is for plain volumes only (a caamcrypt volume's header records its cipher)"
	}
	if o.SectorSize != 0 && o.Type != TypePlain {
		return "sector-size= is for plain volumes only (a caamcrypt volume's header records its sector size)"
	}
	return ""
}

// checkName accepts names that are safe as /dev/mapper/<name> and in
// dmsetup and logs: letters, digits, '.', '_', '+', '-', not starting with
// '-' or '.', at most 127 bytes (DM_NAME_LEN 128 with the NUL).
func checkName(n string) string {
	if len(n) > 127 || n[0] == '-' || n[0] == '.' {
		return fmt.Sprintf("volume name %q must be 1..127 characters and not start with '-' or '.'", n)
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._+-", c)) {
			return fmt.Sprintf("volume name %q: character %q not allowed (use letters, digits, . _ + -)", n, c)
		}
	}
	return ""
}

// checkDevice checks the device column's syntax; ResolveDevice finds it.
func checkDevice(d string) string {
	if k, v, ok := strings.Cut(d, "="); ok {
		switch k {
		case "UUID", "LABEL", "PARTUUID", "PARTLABEL":
			if v == "" {
				return fmt.Sprintf("device %q: empty %s", d, k)
			}
			// Filesystem and caamcrypt UUIDs are hex with dashes (RFC 4122,
			// or FAT's XXXX-XXXX); anything else is a typo that would only
			// show up as "not found" at boot.
			if k == "UUID" && strings.Trim(v, "0123456789abcdefABCDEF-") != "" {
				return fmt.Sprintf("device %q: a UUID is hex digits and dashes", d)
			}
			return ""
		}
		return fmt.Sprintf("device %q: expected a path, UUID=, LABEL=, PARTUUID= or PARTLABEL=", d)
	}
	if !filepath.IsAbs(d) {
		return fmt.Sprintf("device %q must be an absolute path, UUID=... or LABEL=...", d)
	}
	return ""
}

// checkKey accepts a bare key name (looked up in the key directory) or an
// absolute path; a relative path would depend on the working directory.
func checkKey(k string) string {
	if filepath.IsAbs(k) {
		return ""
	}
	if strings.Contains(k, "/") || k == "." || k == ".." {
		return fmt.Sprintf("key %q: give a key name (no '/') or an absolute path", k)
	}
	return ""
}
