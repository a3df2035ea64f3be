package vm

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Boot speed: under TCG, the bzImage's own decompressor (xz on Debian) and
// the firmware's real-mode boot path cost about 10 s before the kernel
// prints anything. QEMU can instead load an uncompressed ELF vmlinux
// directly at its PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY, present when
// the kernel has CONFIG_PVH, as Debian's does). So the rig unpacks the
// bzImage payload once on the host (x86 boot protocol: setup_sects at
// 0x1f1, payload_offset at 0x248, payload_length at 0x24c; the compressed
// data ends with the little-endian 32-bit uncompressed size) and caches
// the result. Any failure falls back to booting the bzImage as is.

// xenElfnotePhys32Entry is the ELF note type of the PVH entry point.
const xenElfnotePhys32Entry = 18

// bootKernel returns the path QEMU should boot: a cached PVH-capable
// vmlinux when one can be made, else the bzImage.
func bootKernel(h *Host, logf func(string, ...any)) string {
	st, err := os.Stat(h.Kernel)
	if err != nil {
		return h.Kernel
	}
	dir, err := cacheDir()
	if err != nil {
		return h.Kernel
	}
	out := filepath.Join(dir, fmt.Sprintf("vmlinux-%s-%d-%d", h.KernelVersion, st.Size(), st.ModTime().Unix()))
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := extractVmlinux(h.Kernel, out); err != nil {
		logf("vm: booting the compressed kernel (slower under TCG): %v", err)
		return h.Kernel
	}
	return out
}

// extractVmlinux writes the uncompressed ELF kernel of bzImage to out,
// checking that it has a PVH entry note.
func extractVmlinux(bzImage, out string) error {
	b, err := os.ReadFile(bzImage)
	if err != nil {
		return err
	}
	if len(b) < 0x250 || string(b[0x202:0x206]) != "HdrS" {
		return errors.New("not an x86 bzImage")
	}
	setupSects := int(b[0x1f1])
	if setupSects == 0 {
		setupSects = 4
	}
	off := (setupSects+1)*512 + int(binary.LittleEndian.Uint32(b[0x248:]))
	n := int(binary.LittleEndian.Uint32(b[0x24c:]))
	if n < 4 || off+n > len(b) {
		return errors.New("bzImage payload out of range")
	}
	payload := b[off : off+n]
	want := int(binary.LittleEndian.Uint32(payload[n-4:]))
	var raw []byte
	switch {
	case bytes.HasPrefix(payload, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		raw, err = decompressWith("xz", payload)
	case bytes.HasPrefix(payload, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		raw, err = decompressWith("zstd", payload)
	case bytes.HasPrefix(payload, []byte{0x1f, 0x8b}):
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(payload)); err == nil {
			raw, err = io.ReadAll(zr)
		}
	default:
		return errors.New("unknown bzImage payload compression")
	}
	// The kernel's build appends the size word after the compressed stream,
	// which xz reports as trailing garbage: trust the output when its size
	// matches that word.
	if len(raw) != want {
		return fmt.Errorf("unpacked kernel is %d bytes, header says %d: %v", len(raw), want, err)
	}
	if err := checkPVH(raw); err != nil {
		return err
	}
	// Through a unique temporary file: parallel test processes may race here.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".vmlinux-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// decompressWith pipes data through "<tool> -dc"; the error is kept but the
// caller decides by output size (see extractVmlinux).
func decompressWith(tool string, data []byte) ([]byte, error) {
	var out, stderr bytes.Buffer
	cmd := exec.Command(tool, "-dc")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(data), &out, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s: %w: %s", tool, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out.Bytes(), err
}

// checkPVH looks for the Xen PVH entry note QEMU needs to boot an ELF kernel.
func checkPVH(raw []byte) error {
	f, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("unpacked kernel is not ELF: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		notes, err := io.ReadAll(p.Open())
		if err != nil {
			continue
		}
		for len(notes) >= 12 {
			nsz := int(binary.LittleEndian.Uint32(notes[0:]))
			dsz := int(binary.LittleEndian.Uint32(notes[4:]))
			typ := binary.LittleEndian.Uint32(notes[8:])
			next := 12 + align4(nsz) + align4(dsz)
			if next > len(notes) {
				break
			}
			if typ == xenElfnotePhys32Entry && bytes.HasPrefix(notes[12:12+nsz], []byte("Xen")) {
				return nil
			}
			notes = notes[next:]
		}
	}
	return errors.New("kernel has no PVH entry note (CONFIG_PVH off)")
}

func align4(n int) int { return (n + 3) &^ 3 }
