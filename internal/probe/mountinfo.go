package probe

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mount is one line of /proc/<pid>/mountinfo (proc(5)).
type Mount struct {
	ID, Parent   int
	Major, Minor uint32 // st_dev of files on the mount: the block device for disk filesystems
	Root         string // path inside the filesystem that is mounted here
	MountPoint   string
	Options      string // per-mount options (ro, nosuid...)
	FSType       string
	Source       string // e.g. /dev/mapper/data
	SuperOptions string
}

// ParseMountinfo parses mountinfo text:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Fields up to the options are fixed, then zero or more optional fields
// end with "-", then fstype, source and super options. Paths escape space,
// tab, newline and backslash as octal (\040). Malformed lines are errors:
// guessing here could let format miss a mount.
func ParseMountinfo(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Split(scanNewlines)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountLine(line)
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// scanNewlines splits at '\n' only. bufio.ScanLines also drops a '\r'
// before the newline, but the kernel does not escape '\r' in mountinfo: a
// mount whose source or super options end in '\r' would lose it, and the
// line would no longer parse (found by FuzzParseMountinfo).
func scanNewlines(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

func parseMountLine(line string) (Mount, error) {
	// Split on the ASCII space only: the kernel separates fields with one
	// space and escapes only space, tab, newline and backslash in paths, so
	// a path may hold other bytes strings.Fields would split on (\r, \v,
	// U+0085, U+00A0, U+2003...), shifting every later field.
	f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' })
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 7 || sep < 0 || len(f) < sep+3 {
		return Mount{}, fmt.Errorf("malformed: %q", line)
	}
	var m Mount
	var err error
	if m.ID, err = strconv.Atoi(f[0]); err != nil {
		return Mount{}, fmt.Errorf("mount id %q: %w", f[0], err)
	}
	if m.Parent, err = strconv.Atoi(f[1]); err != nil {
		return Mount{}, fmt.Errorf("parent id %q: %w", f[1], err)
	}
	if m.Major, m.Minor, err = parseDevNum(f[2]); err != nil {
		return Mount{}, err
	}
	m.Root = unescapeOctal(f[3])
	m.MountPoint = unescapeOctal(f[4])
	m.Options = f[5]
	m.FSType = f[sep+1]
	m.Source = unescapeOctal(f[sep+2])
	if len(f) > sep+3 {
		m.SuperOptions = f[sep+3]
	}
	return m, nil
}

// parseDevNum parses "major:minor" as in mountinfo and sysfs "dev" files.
func parseDevNum(s string) (uint32, uint32, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), ":")
	maj, err1 := strconv.ParseUint(a, 10, 32)
	min, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("device number %q is not major:minor", s)
	}
	return uint32(maj), uint32(min), nil
}

// unescapeOctal undoes the kernel's \ooo escaping of mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			sb.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
