package probe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrNotBlockDevice means a path given to InUse or SizeBytes is neither a
// block device nor a regular file (an image).
var ErrNotBlockDevice = errors.New("not a block device or image file")

// System names where InUse looks; tests point it at a fake tree.
type System struct {
	Sysfs     string // sysfs mount point, "/sys"
	Mountinfo string // "/proc/self/mountinfo"
}

// Host is the running system.
var Host = System{Sysfs: "/sys", Mountinfo: "/proc/self/mountinfo"}

// InUse reports what uses devPath right now on the running system; see
// System.InUse.
func InUse(devPath string) ([]Finding, error) { return Host.InUse(devPath) }

// mounts reads and parses the mountinfo file.
func (s System) mounts() ([]Mount, error) {
	f, err := os.Open(s.Mountinfo)
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	defer f.Close()
	return ParseMountinfo(f)
}

// blockName maps a device number to its kernel name through the sysfs link
// /sys/dev/block/MAJ:MIN -> .../block/sda/sda1.
func (s System) blockName(major, minor uint32) (string, error) {
	link, err := os.Readlink(filepath.Join(s.Sysfs, "dev", "block", fmt.Sprintf("%d:%d", major, minor)))
	if err != nil {
		return "", fmt.Errorf("find block device %d:%d in sysfs: %w", major, minor, err)
	}
	return filepath.Base(link), nil
}

// devUsers reports mounts and holders of the block device major:minor and
// of its partitions. mounts is the parsed mountinfo.
func (s System) devUsers(major, minor uint32, mounts []Mount) ([]Finding, error) {
	name, err := s.blockName(major, minor)
	if err != nil {
		return nil, err
	}
	out := s.nodeUsers(name, "", major, minor, mounts)
	parts, err := s.partitions(name)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		out = append(out, s.nodeUsers(p.name, "partition "+p.name+" ", p.major, p.minor, mounts)...)
	}
	return out, nil
}

// nodeUsers reports the mounts and holders of one block device; prefix
// names a partition in the wording.
func (s System) nodeUsers(name, prefix string, major, minor uint32, mounts []Mount) []Finding {
	var out []Finding
	for _, m := range mounts {
		if m.Major == major && m.Minor == minor {
			out = append(out, Finding{KindMounted, fmt.Sprintf("%smounted on %s (%s)", prefix, m.MountPoint, m.FSType)})
		}
	}
	for _, h := range s.holders(name) {
		out = append(out, Finding{KindHolder, prefix + "used by " + h})
	}
	return out
}

// holders lists /sys/class/block/<name>/holders, naming device-mapper
// holders by their mapping name (/sys/block/dm-N/dm/name). A missing
// directory means no holders.
func (s System) holders(name string) []string {
	ents, err := os.ReadDir(filepath.Join(s.Sysfs, "class", "block", name, "holders"))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		h := e.Name()
		if dm, err := os.ReadFile(filepath.Join(s.Sysfs, "block", h, "dm", "name")); err == nil {
			out = append(out, fmt.Sprintf("device-mapper mapping %q (%s)", strings.TrimSpace(string(dm)), h))
			continue
		}
		out = append(out, "kernel device "+h)
	}
	return out
}

type partition struct {
	name         string
	major, minor uint32
}

// partitions lists the partitions of a disk: subdirectories of
// /sys/class/block/<disk> that contain a "partition" file; their "dev"
// file holds MAJ:MIN.
func (s System) partitions(disk string) ([]partition, error) {
	dir := filepath.Join(s.Sysfs, "class", "block", disk)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list partitions of %s: %w", disk, err)
	}
	var out []partition
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join(dir, e.Name(), "partition")); err != nil {
			continue
		}
		dev, err := os.ReadFile(filepath.Join(dir, e.Name(), "dev"))
		if err != nil {
			continue
		}
		maj, min, err := parseDevNum(string(dev))
		if err != nil {
			return nil, fmt.Errorf("partition %s: %w", e.Name(), err)
		}
		out = append(out, partition{e.Name(), maj, min})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// loopUsers reports loop devices whose backing file is fi (an image file),
// and the mounts and holders of those loop devices. It reads
// /sys/block/loopN/loop/backing_file; a missing sysfs means none.
func (s System) loopUsers(fi os.FileInfo, mounts []Mount) []Finding {
	ents, err := os.ReadDir(filepath.Join(s.Sysfs, "block"))
	if err != nil {
		return nil
	}
	var out []Finding
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "loop") {
			continue
		}
		dir := filepath.Join(s.Sysfs, "block", e.Name())
		back, err := os.ReadFile(filepath.Join(dir, "loop", "backing_file"))
		if err != nil {
			continue
		}
		bfi, err := os.Stat(strings.TrimSpace(string(back)))
		if err != nil || !os.SameFile(fi, bfi) {
			continue
		}
		out = append(out, Finding{KindLoop, "attached to /dev/" + e.Name()})
		if dev, err := os.ReadFile(filepath.Join(dir, "dev")); err == nil {
			if maj, min, err := parseDevNum(string(dev)); err == nil {
				out = append(out, s.nodeUsers(e.Name(), e.Name()+" ", maj, min, mounts)...)
			}
		}
	}
	return out
}
