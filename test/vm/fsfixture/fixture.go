// Package fsfixture makes a populated ext4 file system for the in-place
// encrypt/reencrypt/decrypt proofs (issue 12) and checks that a file
// system still holds it: a seeded tree of files of mixed sizes (empty,
// small, around one 4 KiB block, a few of 1-8 MiB), a directory tree,
// symlinks (relative, absolute, dangling), a hard link, a FIFO, unusual
// permission bits (setuid, sticky, read-only) and user xattrs, put into an
// image with `mke2fs -d` on the host (no guest time, no root needed).
//
// The manifest (one line per path: type+mode, owner, size, mtime, SHA-256
// or link target) is computed on the host from the source tree and kept
// outside the device; in the guest, VerifyScript's fx_verify prints the
// same manifest of a mounted file system with busybox tools and compares.
package fsfixture

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Spec says how much to make. The total of the big files is at most
// Big*BigMaxMiB MiB; the image must be large enough for everything.
type Spec struct {
	Seed      int64
	Small     int // files of 0..3000 bytes
	Medium    int // files of 4096 +- a few bytes (one block, just over, just under)
	Big       int // files of 1..BigMaxMiB MiB
	BigMaxMiB int
	Dirs      int // directories, nested up to 4 deep
}

// Short is the fixture of the default (make test) runs: a few hundred
// files, about 10 MiB.
func Short(seed int64) Spec {
	return Spec{Seed: seed, Small: 300, Medium: 40, Big: 3, BigMaxMiB: 3, Dirs: 24}
}

// Long is the fixture of the long runs: a few thousand files, up to
// about 40 MiB (issue 12's "a few thousand files of mixed sizes").
func Long(seed int64) Spec {
	return Spec{Seed: seed, Small: 2500, Medium: 300, Big: 5, BigMaxMiB: 8, Dirs: 120}
}

// epoch is the base of the fixture's timestamps (fixed, so the manifest
// depends only on the seed).
var epoch = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// Entry is one path of the manifest.
type Entry struct {
	Path    string // "./a/b", as find prints it in the guest
	Mode    uint32 // st_mode, type bits included
	UID     uint32
	GID     uint32
	Size    int64  // -1 for directories (their size depends on the file system)
	Mtime   int64  // seconds; -1 for symlinks (not set by the fixture)
	Content string // SHA-256 hex (regular files), target (symlinks), "-" otherwise
}

// Line is the entry in the manifest's text form, the form fx_verify prints.
func (e Entry) Line() string {
	size, mtime := fmt.Sprint(e.Size), fmt.Sprint(e.Mtime)
	if e.Size < 0 {
		size = "-"
	}
	if e.Mtime < 0 {
		mtime = "-"
	}
	return fmt.Sprintf("%s|%x|%d|%d|%s|%s|%s", e.Path, e.Mode, e.UID, e.GID, size, mtime, e.Content)
}

// Manifest is the fixture's entries sorted by their Line (byte order, as
// the guest's busybox `sort` orders them).
type Manifest []Entry

// Text is the manifest, one Line per entry, newline-terminated.
func (m Manifest) Text() string {
	var b strings.Builder
	for _, e := range m {
		b.WriteString(e.Line())
		b.WriteByte('\n')
	}
	return b.String()
}

// Bytes is the total size of the regular files.
func (m Manifest) Bytes() int64 {
	var n int64
	for _, e := range m {
		if e.Mode&syscall.S_IFMT == syscall.S_IFREG {
			n += e.Size
		}
	}
	return n
}

// Files counts the regular files.
func (m Manifest) Files() int {
	n := 0
	for _, e := range m {
		if e.Mode&syscall.S_IFMT == syscall.S_IFREG {
			n++
		}
	}
	return n
}

// names are path components: spaces, dots, a non-ASCII letter and a
// 200-byte name, but no '|', newline, backslash or quote (the manifest's
// separator and what sha256sum would escape).
var names = []string{"etc", "var", "log", "data", "cfg", "a b", "été", ".hidden", "x.y.z", "n-1", "under_score", strings.Repeat("L", 200)}

// Build writes the fixture of spec into dir (which must be empty or
// absent) and returns its manifest. The same spec always gives the same
// tree, bytes, modes and times.
func Build(dir string, spec Spec) (Manifest, error) {
	rng := rand.New(rand.NewSource(spec.Seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The directory tree: each new directory under a random earlier one.
	dirs := []string{"."}
	for i := 0; i < spec.Dirs; i++ {
		parent := dirs[rng.Intn(len(dirs))]
		if strings.Count(parent, "/") >= 4 {
			parent = "."
		}
		d := filepath.Join(parent, fmt.Sprintf("%s%d", names[rng.Intn(len(names))], i))
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("fixture dir %s: %w", d, err)
		}
		dirs = append(dirs, d)
	}
	var files []string
	file := func(kind string, i int, size int64) error {
		p := filepath.Join(dirs[rng.Intn(len(dirs))], fmt.Sprintf("%s-%d-%s", kind, i, names[rng.Intn(len(names)-1)]))
		b := make([]byte, size)
		rng.Read(b)
		if rng.Intn(4) == 0 && size > 0 {
			// Some text-like, compressible content and runs of zeros,
			// not only random bytes.
			for j := range b {
				if j%64 < 40 {
					b[j] = byte('a' + j%26)
				} else if j%512 < 100 {
					b[j] = 0
				}
			}
		}
		files = append(files, p)
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	}
	for i := 0; i < spec.Small; i++ {
		size := int64(rng.Intn(3001))
		if i%50 == 0 {
			size = 0
		}
		if err := file("s", i, size); err != nil {
			return nil, err
		}
	}
	for i := 0; i < spec.Medium; i++ {
		if err := file("m", i, int64(4096+rng.Intn(9)-4)); err != nil {
			return nil, err
		}
	}
	for i := 0; i < spec.Big; i++ {
		max := spec.BigMaxMiB
		if max < 1 {
			max = 1
		}
		size := int64(1+rng.Intn(max))<<20 + int64(rng.Intn(4096)) - 2048
		if err := file("b", i, size); err != nil {
			return nil, err
		}
	}
	// Links, a FIFO and permission bits.
	pick := func() string { return files[rng.Intn(len(files))] }
	links := []struct{ name, target string }{
		{"link-rel", rel(pick())},
		{"link-abs", "/etc/passwd"},
		{"link-dangling", "does/not/exist"},
		{"link-dir", rel(dirs[len(dirs)-1])},
		{dirs[1] + "/link-up", "../" + rel(pick())},
	}
	for _, l := range links {
		if err := os.Symlink(l.target, filepath.Join(dir, l.name)); err != nil {
			return nil, fmt.Errorf("fixture symlink %s: %w", l.name, err)
		}
	}
	if err := os.Link(filepath.Join(dir, pick()), filepath.Join(dir, "hardlink")); err != nil {
		return nil, fmt.Errorf("fixture hard link: %w", err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o640); err != nil {
		return nil, fmt.Errorf("fixture fifo: %w", err)
	}
	if err := os.Mkdir(filepath.Join(dir, "empty-dir"), 0o700); err != nil {
		return nil, err
	}
	modes := []os.FileMode{0o600, 0o755, 0o444, 0o640, os.ModeSetuid | 0o755, os.ModeSetgid | 0o750, 0o000}
	for i, f := range files {
		if i%7 == 3 {
			if err := os.Chmod(filepath.Join(dir, f), modes[rng.Intn(len(modes))]); err != nil {
				return nil, err
			}
		}
	}
	if err := os.Chmod(filepath.Join(dir, dirs[len(dirs)/2]), os.ModeSticky|0o777); err != nil {
		return nil, err
	}
	// User xattrs on a few files (checked on the host with debugfs where
	// the image is readable there; the guest has no getfattr).
	for i := 0; i < 5; i++ {
		p := filepath.Join(dir, files[i*len(files)/5])
		err := unix.Setxattr(p, "user.fixture", []byte(fmt.Sprintf("value-%d-%d", spec.Seed, i)), 0)
		if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
			break // a temp dir without user xattrs (tmpfs before Linux 6.6): none, Xattrs says so
		}
		if err != nil {
			return nil, fmt.Errorf("fixture xattr: %w", err)
		}
	}
	// Times last, children before parents, so nothing changes them after.
	var all []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		all = append(all, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		p := all[i]
		st, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		if st.Mode()&os.ModeSymlink != 0 || p == dir {
			continue
		}
		mt := epoch.Add(time.Duration(rng.Intn(86400*365)) * time.Second)
		if err := os.Chtimes(p, mt, mt); err != nil {
			return nil, err
		}
	}
	return Read(dir)
}

func rel(p string) string { return strings.TrimPrefix(p, "./") }

// Read computes the manifest of the tree at dir (its root itself left out,
// as is lost+found, which mke2fs adds).
func Read(dir string) (Manifest, error) {
	var m Manifest
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(dir, p)
		if r == "." {
			return nil
		}
		if r == "lost+found" {
			return filepath.SkipDir
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		e := Entry{Path: "./" + r, Mode: st.Mode, UID: st.Uid, GID: st.Gid, Size: st.Size, Mtime: st.Mtim.Sec, Content: "-"}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			e.Size = -1
		case unix.S_IFLNK:
			e.Mtime = -1
			if e.Content, err = os.Readlink(p); err != nil {
				return err
			}
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s := sha256.Sum256(b)
			e.Content = hex.EncodeToString(s[:])
		}
		m = append(m, e)
		return nil
	})
	// Sorted by whole line, as the guest's sort orders them ("./a b|"
	// before "./a|").
	sort.Slice(m, func(i, j int) bool { return m[i].Line() < m[j].Line() })
	return m, err
}

// Diff compares a manifest text printed in the guest with the expected
// one: the differing lines ("-" expected, "+" found), at most max of them,
// and how many in all.
func Diff(want, got string, max int) ([]string, int) {
	w := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
		w[l] = true
	}
	g := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		g[l] = true
	}
	var out []string
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
		if !g[l] {
			n++
			if len(out) < max {
				out = append(out, "-"+l)
			}
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		if !w[l] {
			n++
			if len(out) < max {
				out = append(out, "+"+l)
			}
		}
	}
	return out, n
}
