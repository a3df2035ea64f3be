package vm

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Debian's kernel builds dm-mod, dm-crypt, loop, virtio_blk, virtio_pci and
// ext4 as modules (docs/caam-abi.md §12), and busybox insmod neither resolves
// dependencies nor decompresses, so the harness resolves modules.dep on the
// host and ships plain .ko files in dependency order.

// BaseModules are loaded in every guest, in this order (each after its
// dependencies). crc32c_generic is there because ext4 with metadata_csum
// asks the crypto API for "crc32c" at mount time and busybox cannot
// autoload it. dm-zero backs the dm package's own root tests.
var BaseModules = []string{
	"virtio_pci", "virtio_blk", "loop", "dm-mod", "dm-crypt", "dm-zero",
	"crc32c_generic", "ext4",
}

// moduleDB is a parsed modules.dep of one kernel.
type moduleDB struct {
	dir    string              // /lib/modules/<version>
	deps   map[string][]string // relative path -> relative dependency paths
	byName map[string]string   // normalised module name -> relative path
}

// normModName folds "-" into "_" as the kernel does for module names.
func normModName(n string) string { return strings.ReplaceAll(n, "-", "_") }

// modNameOf returns the module name of a path like kernel/drivers/md/dm-mod.ko.xz.
func modNameOf(rel string) string {
	base := filepath.Base(rel)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return normModName(base)
}

func loadModuleDB(dir string) (*moduleDB, error) {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil, fmt.Errorf("kernel modules: %w (is the kernel's modules package installed?)", err)
	}
	defer f.Close()
	db := &moduleDB{dir: dir, deps: map[string][]string{}, byName: map[string]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		db.deps[mod] = strings.Fields(rest)
		db.byName[modNameOf(mod)] = mod
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kernel modules: read modules.dep: %w", err)
	}
	return db, nil
}

// builtin reports whether the module is built into the kernel
// (modules.builtin), in which case there is nothing to load.
func (db *moduleDB) builtin(name string) bool {
	b, err := os.ReadFile(filepath.Join(db.dir, "modules.builtin"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if line != "" && modNameOf(line) == normModName(name) {
			return true
		}
	}
	return false
}

// resolve returns the relative paths of the named modules and all their
// dependencies, each after everything it depends on.
func (db *moduleDB) resolve(names []string) ([]string, error) {
	var order []string
	done := map[string]bool{}
	var visit func(rel string)
	visit = func(rel string) {
		if done[rel] {
			return
		}
		done[rel] = true
		for _, d := range db.deps[rel] {
			visit(d)
		}
		order = append(order, rel)
	}
	for _, n := range names {
		rel, ok := db.byName[normModName(n)]
		if !ok {
			if db.builtin(n) {
				continue
			}
			return nil, fmt.Errorf("kernel module %q not found in %s/modules.dep", n, db.dir)
		}
		visit(rel)
	}
	return order, nil
}

// guestModulePath is where a module is stored in the guest: same tree,
// compression suffix dropped because it is stored decompressed.
func guestModulePath(dir, rel string) string {
	for _, suf := range []string{".xz", ".zst", ".gz"} {
		rel = strings.TrimSuffix(rel, suf)
	}
	return filepath.Join(dir, rel)
}

// readModule returns the module's bytes, decompressed. xz and zstd modules
// are decompressed with the host's xz/zstd tools (Go's standard library has
// neither); Debian 12's kernel ships plain .ko files, so this path is only
// taken on other distributions.
func readModule(path string) ([]byte, error) {
	switch {
	case strings.HasSuffix(path, ".ko"):
		return os.ReadFile(path)
	case strings.HasSuffix(path, ".gz"):
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("decompress %s: %w", path, err)
		}
		return io.ReadAll(zr)
	case strings.HasSuffix(path, ".xz"), strings.HasSuffix(path, ".zst"):
		tool := "xz"
		if strings.HasSuffix(path, ".zst") {
			tool = "zstd"
		}
		var out, stderr bytes.Buffer
		cmd := exec.Command(tool, "-dc", path)
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("decompress %s with %s (install it on the host): %w: %s", path, tool, err, stderr.String())
		}
		return out.Bytes(), nil
	}
	return nil, fmt.Errorf("kernel module %s: unknown file type", path)
}
