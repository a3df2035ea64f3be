package vm

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
)

// The library search directories are the guest architecture's (archSpec:
// multiarch directory first, as Debian's /etc/ld.so.conf.d says), looked
// up under Host.Root. Resolving DT_NEEDED ourselves instead of running ldd
// means no binary is executed to build the image, so ARM guests get their
// libraries the same way.

// elfClosure returns the host paths of the program interpreter and every
// shared library the ELF files (host paths) need, transitively, keyed by
// the path the guest must have them at (the same path as on the host for
// amd64; the path under h.Root for ARM). Static binaries and non-ELF files
// (scripts) yield nothing.
func elfClosure(h *Host, files ...string) (map[string]string, error) {
	spec, err := h.Arch.spec()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	queue := append([]string(nil), files...)
	seen := map[string]bool{}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		f, err := elf.Open(p)
		if err != nil {
			if _, ok := err.(*elf.FormatError); ok {
				continue // not ELF: a script, nothing to resolve
			}
			return nil, fmt.Errorf("read ELF %s: %w", p, err)
		}
		interp, needed, err := elfNeeds(f)
		machine, class := f.Machine, f.Class
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read ELF %s: %w", p, err)
		}
		if interp != "" {
			out[interp] = h.hostPath(interp)
			queue = append(queue, h.hostPath(interp))
		}
		for _, lib := range needed {
			guest, err := findLib(h, spec.libDirs, lib, machine, class)
			if err != nil {
				return nil, fmt.Errorf("%s needs %s: %w", p, lib, err)
			}
			out[guest] = h.hostPath(guest)
			queue = append(queue, h.hostPath(guest))
		}
	}
	return out, nil
}

// elfNeeds reads PT_INTERP and DT_NEEDED.
func elfNeeds(f *elf.File) (interp string, needed []string, err error) {
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			b := make([]byte, prog.Filesz)
			if _, err := prog.ReadAt(b, 0); err != nil {
				return "", nil, err
			}
			for len(b) > 0 && b[len(b)-1] == 0 {
				b = b[:len(b)-1]
			}
			interp = string(b)
		}
	}
	if f.Section(".dynamic") == nil {
		return interp, nil, nil
	}
	needed, err = f.ImportedLibraries()
	return interp, needed, err
}

// findLib finds a library by soname in dirs (guest paths, looked up under
// h.Root), skipping files of another machine or class (e.g. an i386 copy),
// and returns its guest path.
func findLib(h *Host, dirs []string, name string, machine elf.Machine, class elf.Class) (string, error) {
	for _, dir := range dirs {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(h.hostPath(p)); err != nil {
			continue
		}
		f, err := elf.Open(h.hostPath(p))
		if err != nil {
			continue
		}
		ok := f.Machine == machine && f.Class == class
		f.Close()
		if ok {
			return p, nil
		}
	}
	return "", fmt.Errorf("library not found in %v (under %q)", dirs, h.Root)
}
