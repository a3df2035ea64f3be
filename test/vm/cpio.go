package vm

import (
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// The kernel's initramfs unpacker (init/initramfs.c) reads the "newc" cpio
// format: a 110-byte ASCII header ("070701" then thirteen 8-digit hex
// fields), the NUL-terminated name padded to 4 bytes, then the data padded
// to 4 bytes. It does not create missing parent directories, so the writer
// emits every parent directory before its children. Files with nlink >= 2
// are treated as hard links by the unpacker, so every entry gets nlink 1 and
// its own inode number.

const cpioTrailer = "TRAILER!!!"

// entryKind says what an image entry is.
type entryKind int

const (
	kindFile entryKind = iota
	kindDir
	kindSymlink
)

// entry is one file, directory or symlink of an image layer. A file's data
// comes from Data when HostPath is empty, else it is streamed from HostPath
// (following symlinks) when the archive is written.
type entry struct {
	Kind     entryKind
	Mode     uint32 // permission bits only
	Data     []byte
	HostPath string
	Target   string // symlink target
}

// layer is the content of one cpio archive, keyed by guest path without the
// leading slash ("usr/bin/dmsetup").
type layer struct {
	entries map[string]entry
}

func newLayer() *layer { return &layer{entries: map[string]entry{}} }

// cleanGuestPath makes p relative and clean, and folds the merged-/usr
// top-level directories (bin, sbin, lib, lib64) into usr/, because the guest
// image is merged-/usr like Debian 12: /bin etc. are symlinks there.
func cleanGuestPath(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	for _, top := range []string{"bin", "sbin", "lib", "lib64"} {
		if p == top || strings.HasPrefix(p, top+"/") {
			return "usr/" + p
		}
	}
	return p
}

// addFile adds a file whose content is read from hostPath at write time.
func (l *layer) addFile(guest, hostPath string, mode uint32) {
	l.entries[cleanGuestPath(guest)] = entry{Kind: kindFile, Mode: mode, HostPath: hostPath}
}

// addData adds a file with the given content.
func (l *layer) addData(guest string, data []byte, mode uint32) {
	l.entries[cleanGuestPath(guest)] = entry{Kind: kindFile, Mode: mode, Data: data}
}

// addSymlink adds a symlink. The guest path is used as given (not folded)
// so the merged-/usr links themselves can be added.
func (l *layer) addSymlink(guest, target string) {
	l.entries[strings.TrimPrefix(path.Clean("/"+guest), "/")] = entry{Kind: kindSymlink, Mode: 0o777, Target: target}
}

// addDir adds an empty directory.
func (l *layer) addDir(guest string, mode uint32) {
	l.entries[cleanGuestPath(guest)] = entry{Kind: kindDir, Mode: mode}
}

// has reports whether guest (folded) is already in the layer.
func (l *layer) has(guest string) bool {
	_, ok := l.entries[cleanGuestPath(guest)]
	return ok
}

// writeTo writes the layer as one newc archive, parents before children, in
// a stable order so the same inputs give the same bytes.
func (l *layer) writeTo(w io.Writer) error {
	all := map[string]entry{}
	for p, e := range l.entries {
		all[p] = e
		for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
			if _, ok := all[d]; !ok {
				if _, explicit := l.entries[d]; !explicit {
					all[d] = entry{Kind: kindDir, Mode: 0o755}
				}
			}
		}
	}
	names := make([]string, 0, len(all))
	for p := range all {
		names = append(names, p)
	}
	// Sorting by path puts "usr/bin" before "usr/bin/x": a prefix sorts first.
	sort.Strings(names)
	cw := &cpioWriter{w: w, ino: 1}
	for _, p := range names {
		if err := cw.write(p, all[p]); err != nil {
			return err
		}
	}
	return cw.trailer()
}

// cpioWriter emits newc records.
type cpioWriter struct {
	w   io.Writer
	ino uint32
}

func (c *cpioWriter) header(name string, mode uint32, size int64) error {
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, uint32(size), 0, 0, 0, 0, len(name)+1, 0)
	c.ino++
	buf := append([]byte(hdr), name...)
	buf = append(buf, 0)
	buf = append(buf, make([]byte, pad4(len(buf)))...)
	_, err := c.w.Write(buf)
	return err
}

func pad4(n int) int { return (4 - n%4) % 4 }

func (c *cpioWriter) write(name string, e entry) error {
	switch e.Kind {
	case kindDir:
		return c.header(name, 0o040000|e.Mode, 0)
	case kindSymlink:
		if err := c.header(name, 0o120000|e.Mode, int64(len(e.Target))); err != nil {
			return err
		}
		return c.data([]byte(e.Target))
	}
	if e.HostPath == "" {
		if err := c.header(name, 0o100000|e.Mode, int64(len(e.Data))); err != nil {
			return err
		}
		return c.data(e.Data)
	}
	f, err := os.Open(e.HostPath)
	if err != nil {
		return fmt.Errorf("initramfs: add %s: %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("initramfs: add %s: %w", name, err)
	}
	if st.Size() > 0xffffffff {
		return fmt.Errorf("initramfs: add %s: %d bytes is too large for newc", name, st.Size())
	}
	if err := c.header(name, 0o100000|e.Mode, st.Size()); err != nil {
		return err
	}
	n, err := io.Copy(c.w, f)
	if err != nil {
		return fmt.Errorf("initramfs: copy %s: %w", e.HostPath, err)
	}
	if n != st.Size() {
		return fmt.Errorf("initramfs: %s changed size while copying", e.HostPath)
	}
	_, err = c.w.Write(make([]byte, pad4(int(n))))
	return err
}

func (c *cpioWriter) data(b []byte) error {
	if _, err := c.w.Write(b); err != nil {
		return err
	}
	_, err := c.w.Write(make([]byte, pad4(len(b))))
	return err
}

func (c *cpioWriter) trailer() error {
	return c.header(cpioTrailer, 0, 0)
}
