package vm

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// imageVersion is mixed into the base image cache key; bump it when the
// layout or /init changes in a way the inputs' metadata does not show.
const imageVersion = "caamcrypt-vm-image-1"

// Flavour selects the guest's device manager.
type Flavour string

const (
	// NoUdev is busybox only: no udevd, no mdev, like a minimal image.
	// Device-mapper nodes exist only if libdevmapper (or the caller)
	// makes them.
	NoUdev Flavour = "noudev"
	// Udev runs Debian's systemd-udevd with Debian's rules (including
	// the device-mapper rules from the dmsetup package), triggered and
	// settled before every step.
	Udev Flavour = "udev"
)

// Flavours lists every flavour; scenarios run in each.
var Flavours = []Flavour{NoUdev, Udev}

// baseTools are host programs copied into every guest at the same path,
// with their shared libraries: e2fsprogs for mkfs/fsck, keyutils' keyctl
// and dmsetup for cross-checks, util-linux blkid/wipefs for probing.
var baseTools = []string{
	"/usr/sbin/mke2fs", "/usr/sbin/e2fsck", "/usr/sbin/tune2fs", "/usr/sbin/dumpe2fs",
	"/usr/sbin/blkid", "/usr/sbin/wipefs", "/usr/bin/keyctl", "/usr/sbin/dmsetup",
}

// requiredTools must exist on the host; the rest of baseTools are copied
// when present.
var requiredTools = map[string]string{
	"/usr/sbin/mke2fs": "e2fsprogs", "/usr/sbin/e2fsck": "e2fsprogs",
	"/usr/bin/keyctl": "keyutils", "/usr/sbin/dmsetup": "dmsetup",
	"/usr/sbin/blkid": "util-linux",
}

// udevFiles are the extra programs of the Udev flavour. systemd-udevd is a
// symlink to udevadm on Debian 12; the copy dispatches on argv[0] the same way.
var udevFiles = map[string]string{
	"/usr/bin/udevadm":               "/bin/udevadm",
	"/usr/lib/systemd/systemd-udevd": "/lib/systemd/systemd-udevd",
}

// mke2fsConf defines ext4 for mke2fs in a bare initramfs (docs/caam-abi.md §12: without
// a config that defines it, `mkfs.ext4` fails). Written for the rig, kept
// to what tests need.
const mke2fsConf = `[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384

[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	small = {
		blocksize = 1024
		inode_ratio = 4096
	}
	floppy = {
		blocksize = 1024
		inode_ratio = 8192
	}
`

// The groups Debian's udev rules name; udevd warns about and ignores
// unknown ones, which would clutter the console.
const etcGroup = "root:x:0:\ntty:x:5:\ndisk:x:6:\nlp:x:7:\nkmem:x:15:\ndialout:x:20:\ncdrom:x:24:\ntape:x:26:\naudio:x:29:\nvideo:x:44:\ninput:x:101:\nrender:x:102:\nkvm:x:103:\nsgx:x:104:\n"

// baseLayer describes the cached part of a flavour's image.
func baseLayer(h *Host, f Flavour) (*layer, error) {
	l := newLayer()
	for _, d := range []string{"bin", "sbin", "lib", "lib64"} {
		l.addSymlink(d, "usr/"+d)
	}
	for _, d := range []string{"proc", "sys", "dev", "run", "tmp", "root", "mnt", "etc/vm/boot", "usr/lib64"} {
		l.addDir(d, 0o755)
	}
	l.addSymlink("var/run", "../run")
	l.addDir("tmp", 0o1777)
	spec, err := h.Arch.spec()
	if err != nil {
		return nil, err
	}
	l.addData("init", []byte(initScript(f, spec.results)), 0o755)
	l.addData("etc/mke2fs.conf", []byte(mke2fsConf), 0o644)
	l.addData("etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
	l.addData("etc/group", []byte(etcGroup), 0o644)

	if err := addBusybox(l, h.Busybox, h.BusyboxList); err != nil {
		return nil, err
	}
	var elfs []string
	for _, t := range baseTools {
		if _, err := os.Stat(h.hostPath(t)); err != nil {
			if pkg, req := requiredTools[t]; req {
				return nil, fmt.Errorf("QEMU rig: %s missing on the host (apt install %s)", h.hostPath(t), pkg)
			}
			continue
		}
		l.addFile(t, h.hostPath(t), 0o755)
		elfs = append(elfs, h.hostPath(t))
	}
	// mke2fs and e2fsck pick the filesystem type from argv[0].
	l.addSymlink("usr/sbin/mkfs.ext4", "mke2fs")
	l.addSymlink("usr/sbin/fsck.ext4", "e2fsck")
	if f == Udev {
		for guest, host := range udevFiles {
			host = h.hostPath(host)
			if _, err := os.Stat(host); err != nil {
				return nil, fmt.Errorf("QEMU rig udev flavour: %s missing on the host (apt install udev)", host)
			}
			l.addFile(guest, host, 0o755)
			elfs = append(elfs, host)
		}
		rules, _ := filepath.Glob(h.hostPath("/lib/udev/rules.d/*.rules"))
		if len(rules) == 0 {
			return nil, fmt.Errorf("QEMU rig udev flavour: no rules in %s (apt install udev)", h.hostPath("/lib/udev/rules.d"))
		}
		for _, r := range rules {
			l.addFile("/lib/udev/rules.d/"+filepath.Base(r), r, 0o644)
		}
		if _, err := os.Stat(h.hostPath("/lib/udev/rules.d/55-dm.rules")); err != nil {
			return nil, fmt.Errorf("QEMU rig udev flavour: device-mapper udev rules missing (apt install dmsetup)")
		}
	}
	libs, err := elfClosure(h, elfs...)
	if err != nil {
		return nil, fmt.Errorf("QEMU rig base image: %w", err)
	}
	for guest, host := range libs {
		l.addFile(guest, host, 0o755)
	}
	// The results channel's driver first (ARM: init.go opens hvc0 before
	// the base modules are loaded); modules it pulls in are not loaded twice.
	loaded, err := addModules(l, h, spec.earlyModules, guestEarlyModules, nil)
	if err != nil {
		return nil, err
	}
	if _, err := addModules(l, h, BaseModules, guestBaseModules, loaded); err != nil {
		return nil, err
	}
	return l, nil
}

// addBusybox installs busybox and a symlink per applet, at the paths
// `busybox --list-full` gives, without shadowing real tools added later
// (real files replace symlinks of the same path). list, when set, is the
// busybox that is asked for the list (the guest's may not run here).
func addBusybox(l *layer, bb, list string) error {
	l.addFile("usr/bin/busybox", bb, 0o755)
	if list == "" {
		list = bb
	}
	out, err := exec.Command(list, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("QEMU rig: list busybox applets of %s: %w", bb, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" || strings.HasSuffix(p, "/busybox") {
			continue
		}
		l.addSymlink(cleanGuestPath(p), "/usr/bin/busybox")
	}
	return nil
}

// addModules copies the named kernel modules and their dependencies into
// the layer, except those in skip (already loaded), writes the load-order
// list to listPath and returns the modules listed plus skip.
func addModules(l *layer, h *Host, names []string, listPath string, skip map[string]bool) (map[string]bool, error) {
	db, err := loadModuleDB(h.ModulesDir)
	if err != nil {
		return nil, err
	}
	order, err := db.resolve(names)
	if err != nil {
		return nil, err
	}
	done := map[string]bool{}
	for rel := range skip {
		done[rel] = true
	}
	var list strings.Builder
	for _, rel := range order {
		if done[rel] {
			continue
		}
		done[rel] = true
		hostPath := filepath.Join(h.ModulesDir, rel)
		guest := guestModulePath(h.guestModulesDir(), rel)
		if strings.HasSuffix(rel, ".ko") {
			l.addFile(guest, hostPath, 0o644)
		} else {
			b, err := readModule(hostPath)
			if err != nil {
				return nil, err
			}
			l.addData(guest, b, 0o644)
		}
		list.WriteString(guest + "\n")
	}
	l.addData(listPath, []byte(list.String()), 0o644)
	return done, nil
}

// cacheKey hashes everything the layer's bytes depend on: paths, modes,
// symlink targets, inline data, and size+mtime of host files.
func (l *layer) cacheKey(extra ...string) (string, error) {
	h := sha256.New()
	for _, e := range extra {
		fmt.Fprintf(h, "%s\x00", e)
	}
	names := make([]string, 0, len(l.entries))
	for p := range l.entries {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		e := l.entries[p]
		fmt.Fprintf(h, "%s\x00%d\x00%o\x00%s\x00", p, e.Kind, e.Mode, e.Target)
		h.Write(e.Data)
		if e.HostPath != "" {
			st, err := os.Stat(e.HostPath)
			if err != nil {
				return "", fmt.Errorf("QEMU rig image input %s: %w", e.HostPath, err)
			}
			fmt.Fprintf(h, "%s\x00%d\x00%d\x00", e.HostPath, st.Size(), st.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// writeFileAtomic writes the layer to path through a temporary file and a
// rename, so a concurrent or interrupted run never sees half an image.
func (l *layer) writeFileAtomic(path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*.cpio")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := l.writeTo(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

var (
	baseMu    sync.Mutex
	baseCache = map[string]string{} // arch/flavour -> path
)

// baseImage returns the path of the flavour's base archive, building it
// once per process and reusing a cached file across runs when the inputs
// are unchanged.
func baseImage(h *Host, f Flavour) (string, error) {
	baseMu.Lock()
	defer baseMu.Unlock()
	id := string(h.Arch) + "/" + string(f)
	if p, ok := baseCache[id]; ok {
		return p, nil
	}
	l, err := baseLayer(h, f)
	if err != nil {
		return "", err
	}
	key, err := l.cacheKey(imageVersion, string(f), h.KernelVersion)
	if err != nil {
		return "", err
	}
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, fmt.Sprintf("base-%s-%s-%s.cpio", f, h.KernelVersion, key))
	if _, err := os.Stat(p); err != nil {
		if err := l.writeFileAtomic(p); err != nil {
			return "", fmt.Errorf("QEMU rig: write base image %s: %w", p, err)
		}
		// Inputs changed (package upgrade, new harness): drop stale images
		// of this flavour and kernel so the cache does not grow without
		// bound (other architectures' kernels have other names).
		old, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("base-%s-%s-*.cpio", f, h.KernelVersion)))
		for _, o := range old {
			if o != p {
				os.Remove(o)
			}
		}
	}
	baseCache[id] = p
	return p, nil
}

// appendFile copies src to the end of w.
func appendFile(w io.Writer, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
