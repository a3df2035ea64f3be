package blockdev

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/google/uuid"
	"github.com/sirupsen/logrus"
)

// Resolver finds the device a device spec (a caamtab device column or a
// command-line argument) names. The fields are
// the roots it looks under, so tests can use a fake tree of regular files.
type Resolver struct {
	Dev            string // "/dev": device nodes and udev's disk/by-* links
	Sys            string // "/sys": class/block lists the block devices
	ProcPartitions string // "/proc/partitions": fallback list without sysfs
}

// Host resolves on the running system.
var Host = Resolver{Dev: "/dev", Sys: "/sys", ProcPartitions: "/proc/partitions"}

// Resolve resolves spec on the running system; see Resolver.Resolve.
func Resolve(spec string) (string, error) { return Host.Resolve(spec) }

// ResolveHeader is Resolver.ResolveHeader on the host's /dev and /sys.
func ResolveHeader(spec string) (string, *Found, error) { return Host.ResolveHeader(spec) }

// Found is the caamcrypt header a UUID=/LABEL= lookup read and matched, so
// that the caller need not read the device a second time.
type Found struct {
	Header *header.Header
	Report header.ReadReport
}

// Resolve returns the device path for spec:
//
//   - an absolute path is returned as is, once it exists;
//   - UUID=u / LABEL=l name a caamcrypt volume. udev's
//     /dev/disk/by-uuid|by-label link is tried first and taken when the
//     device it points to has a caamcrypt header with that UUID/label.
//     Otherwise every block device (from /sys/class/block, or
//     /proc/partitions) is read for a caamcrypt header: busybox images have
//     no /dev/disk links, and udev's blkid does not know caamcrypt headers,
//     so its links name other things, e.g. the ext4 inside an open volume,
//     which carries the same label. Only when no header matches does the
//     by-* link count as it is (a volume of another kind).
//   - PARTUUID= / PARTLABEL= use udev's by-partuuid / by-partlabel links.
//
// Two devices with the same UUID or label (a cloned disk) are refused
// rather than guessed (fail.ErrRefused); nothing found wraps fail.ErrNotFound.
func (r Resolver) Resolve(spec string) (string, error) {
	path, _, err := r.ResolveHeader(spec)
	return path, err
}

// ResolveHeader is Resolve that also returns the header it matched a
// UUID=/LABEL= spec with (nil for a path, PARTUUID=/PARTLABEL=, or a by-*
// link taken as it is).
func (r Resolver) ResolveHeader(spec string) (string, *Found, error) {
	key, val, ok := strings.Cut(spec, "=")
	if !ok {
		if !filepath.IsAbs(spec) {
			return "", nil, fmt.Errorf("%w: device %q must be an absolute path, UUID=... or LABEL=...", fail.ErrUsage, spec)
		}
		if _, err := os.Stat(spec); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", nil, fmt.Errorf("%w: device %s does not exist: %w", fail.ErrNotFound, spec, err)
			}
			return "", nil, fmt.Errorf("device %s: %w", spec, err)
		}
		return spec, nil, nil
	}
	var match func(*header.Header) bool
	var linkDir, linkName string
	switch key {
	case "UUID":
		id, err := uuid.Parse(val)
		if err == nil {
			match = func(h *header.Header) bool { return h.UUID == id }
		}
		linkDir, linkName = "by-uuid", strings.ToLower(val)
	case "LABEL":
		match = func(h *header.Header) bool { return h.Label == val }
		linkDir, linkName = "by-label", udevEncode(val)
	case "PARTUUID":
		linkDir, linkName = "by-partuuid", strings.ToLower(val)
	case "PARTLABEL":
		linkDir, linkName = "by-partlabel", udevEncode(val)
	default:
		return "", nil, fmt.Errorf("%w: device %q: expected a path, UUID=, LABEL=, PARTUUID= or PARTLABEL=", fail.ErrUsage, spec)
	}
	link, linkErr := filepath.EvalSymlinks(filepath.Join(r.Dev, "disk", linkDir, linkName))
	if match != nil {
		if linkErr == nil {
			if f := headerMatches(link, match); f != nil {
				return link, f, nil
			}
		}
		found, hdrs, err := r.scan(match)
		if err != nil {
			return "", nil, err
		}
		switch len(found) {
		case 1:
			return found[0], hdrs[0], nil
		case 0:
		default:
			return "", nil, fmt.Errorf("%w: %s matches several devices (%s); a cloned disk? Name the device by path", fail.ErrRefused, spec, strings.Join(found, ", "))
		}
	}
	if linkErr == nil {
		return link, nil, nil
	}
	return "", nil, fmt.Errorf("%w: no device with %s (no caamcrypt header matches and no /dev/disk/%s link)", fail.ErrNotFound, spec, linkDir)
}

// headerMatches returns the valid caamcrypt header of path when match
// accepts it, else nil. Unreadable devices (no medium, no permission) do
// not match.
func headerMatches(path string, match func(*header.Header) bool) *Found {
	f, err := os.Open(path)
	if err != nil {
		logrus.WithFields(logrus.Fields{"pkg": "blockdev", "call": "open", "path": path, "err": err}).Debug("skip device")
		return nil
	}
	defer f.Close()
	h, rep, err := header.Read(f)
	logrus.WithFields(logrus.Fields{"pkg": "blockdev", "call": "read header", "path": path, "err": err}).Debug("scan for caamcrypt header")
	if err != nil || !match(h) {
		return nil
	}
	return &Found{Header: h, Report: rep}
}

// scan reads every block device with a non-zero size and returns the
// paths whose caamcrypt header matches, sorted, with those headers.
func (r Resolver) scan(match func(*header.Header) bool) ([]string, []*Found, error) {
	names, err := r.blockDevices()
	if err != nil {
		return nil, nil, err
	}
	var found []string
	hdrs := map[string]*Found{}
	for _, n := range names {
		if size, err := os.ReadFile(filepath.Join(r.Sys, "class", "block", n, "size")); err == nil && strings.TrimSpace(string(size)) == "0" {
			continue // empty loop device or drive without medium
		}
		// sysfs writes '/' in names (cciss/c0d0) as '!'.
		p := filepath.Join(r.Dev, strings.ReplaceAll(n, "!", "/"))
		if f := headerMatches(p, match); f != nil {
			found = append(found, p)
			hdrs[p] = f
		}
	}
	sort.Strings(found)
	out := make([]*Found, len(found))
	for i, p := range found {
		out[i] = hdrs[p]
	}
	return found, out, nil
}

// blockDevices lists kernel block device names from /sys/class/block, or
// from /proc/partitions when sysfs is not mounted (early initramfs).
func (r Resolver) blockDevices() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(r.Sys, "class", "block"))
	if err == nil {
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names, nil
	}
	f, perr := os.Open(r.ProcPartitions)
	if perr != nil {
		return nil, fmt.Errorf("%w: cannot list block devices: %v; %v", fail.ErrNotReady, err, perr)
	}
	defer f.Close()
	return parsePartitions(f)
}

// parsePartitions reads /proc/partitions: a header line, a blank line, then
// "major minor #blocks name" per device.
func parsePartitions(f *os.File) ([]string, error) {
	var names []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) != 4 || fl[0] == "major" {
			continue
		}
		names = append(names, fl[3])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return names, nil
}

// udevEncode escapes a label the way udev names /dev/disk/by-label links:
// ASCII bytes outside [A-Za-z0-9#+-.:=@_] (space, '/', backslash...) become
// \xNN; bytes of multi-byte UTF-8 are kept, as udev keeps valid UTF-8.
func udevEncode(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("#+-.:=@_", c) >= 0, c >= 0x80:
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}
