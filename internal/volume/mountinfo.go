package volume

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// mountPointsOf parses /proc/self/mountinfo (proc(5)) and returns the mount
// points whose device field is majMin ("253:0"), in file order (oldest
// mount first). Matching by device number rather than by source string
// finds the volume whichever name it was mounted by (/dev/mapper/x, /dev/dm-0).
func mountPointsOf(r io.Reader, majMin string) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		f := strings.Fields(sc.Text())
		if len(f) < 5 || f[2] != majMin {
			continue
		}
		out = append(out, unescapeMountinfo(f[4]))
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space,
// \011, \012, \134) in a mountinfo path.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
