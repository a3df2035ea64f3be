package volume

import (
	"fmt"
	"io"

	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// mountPointsOf parses /proc/self/mountinfo (proc(5), with probe's parser)
// and returns the mount points whose device field is majMin ("253:0"), in
// file order (oldest mount first). Matching by device number rather than by
// source string finds the volume whichever name it was mounted by
// (/dev/mapper/x, /dev/dm-0).
func mountPointsOf(r io.Reader, majMin string) ([]string, error) {
	mounts, err := probe.ParseMountinfo(r)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range mounts {
		if fmt.Sprintf("%d:%d", m.Major, m.Minor) == majMin {
			out = append(out, m.MountPoint)
		}
	}
	return out, nil
}
