package cross

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkFootprint (issue 10, part 4): the arm64 binary as `make
// cross-arm64` builds it, what takes its space, and the seed's tools for
// comparison. Prints; asserts nothing about sizes. Host only:
//
//		go test -run '^$' -bench Footprint -benchtime 1x ./test/cross
//
//	  - the stripped and default binary sizes;
//	  - the file bytes per Go package (go tool nm -size on the default binary,
//	    text, rodata and data symbols; bss takes no file space), largest first;
//	  - dmsetup, keyctl and their libraries (libdevmapper, libkeyutils) from
//	    Debian 12 arm64 (test/cross/debfetch.sh). NXP's caam-keygen is not
//	    packaged in Debian and not counted: the seed's set is larger still.
//
// Metrics: MB-stripped (10^6 bytes; the target is under 6), and
// x-seed-tools = (caamcrypt stripped + libdevmapper) / (dmsetup + keyctl
// + libdevmapper + libkeyutils): what a board needs on disk with
// caamcrypt against with the seed's shell sequence.
func BenchmarkFootprint(b *testing.B) {
	for _, tool := range crossTools {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("needs %s on PATH", tool)
		}
	}
	bin := b.TempDir()
	out, err := exec.Command("make", "-C", repoRoot, "--no-print-directory", "cross-arm64", "BIN="+bin).CombinedOutput()
	if err != nil {
		b.Fatalf("make cross-arm64: %v\n%s", err, out)
	}
	full, stripped := filepath.Join(bin, "caamcrypt-arm64"), filepath.Join(bin, "caamcrypt-arm64-stripped")
	fullSize, strippedSize := fileSize(b, full), fileSize(b, stripped)
	fmt.Printf("caamcrypt arm64: stripped %d bytes (%.2f MB), default %d bytes\n", strippedSize, float64(strippedSize)/1e6, fullSize)

	pkgs, err := packageSizes(full)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Println("file bytes per package (go tool nm -size, text+rodata+data), largest first:")
	for i, p := range pkgs {
		if i == 20 {
			break
		}
		fmt.Printf("  %9d  %s\n", p.size, p.name)
	}

	cache := os.Getenv("CAAMCRYPT_DEB_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "caamcrypt-debs")
	}
	tree := filepath.Join(cache, "footprint-arm64")
	if o, err := exec.Command("./debfetch.sh", "arm64", tree, "dmsetup", "keyutils").CombinedOutput(); err != nil {
		b.Fatalf("debfetch dmsetup keyutils: %v\n%s", err, o)
	}
	seed := map[string]string{
		"dmsetup":      "usr/sbin/dmsetup",
		"keyctl":       "usr/bin/keyctl",
		"libdevmapper": "lib/aarch64-linux-gnu/libdevmapper.so.1.02.1",
		"libkeyutils":  "lib/aarch64-linux-gnu/libkeyutils.so.1",
	}
	seedTotal := int64(0)
	sizes := map[string]int64{}
	for _, name := range []string{"dmsetup", "keyctl", "libdevmapper", "libkeyutils"} {
		p, err := filepath.EvalSymlinks(filepath.Join(tree, seed[name]))
		if err != nil {
			// merged /usr: the library may sit under usr/lib
			p, err = filepath.EvalSymlinks(filepath.Join(tree, "usr", seed[name]))
		}
		if err != nil {
			b.Fatalf("%s not in the Debian tree %s: %v", name, tree, err)
		}
		sizes[name] = fileSize(b, p)
		seedTotal += sizes[name]
		fmt.Printf("seed tool %-13s %8d bytes (%s, as Debian ships it: stripped)\n", name, sizes[name], filepath.Base(p))
	}
	ours := strippedSize + sizes["libdevmapper"]
	fmt.Printf("caamcrypt + libdevmapper %d bytes; dmsetup + keyctl + libdevmapper + libkeyutils %d bytes (caam-keygen not counted); ratio %.2f\n",
		ours, seedTotal, float64(ours)/float64(seedTotal))
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(strippedSize)/1e6, "MB-stripped")
	b.ReportMetric(float64(fullSize)/1e6, "MB-default")
	b.ReportMetric(float64(ours)/float64(seedTotal), "x-seed-tools")
}

func fileSize(b *testing.B, path string) int64 {
	b.Helper()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

type pkgSize struct {
	name string
	size int64
}

// packageSizes sums go tool nm -size over the symbols that occupy file
// space (types T/t text, R/r rodata, D/d data, except those nm calls data
// that live in a section without file bytes, such as .noptrbss), by
// package: the symbol name up to the first '.' after its last '/'
// (type:/go:/runtime one group each, C symbols "C").
func packageSizes(binary string) ([]pkgSize, error) {
	ef, err := elf.Open(binary)
	if err != nil {
		return nil, err
	}
	var nobits [][2]uint64
	for _, sec := range ef.Sections {
		if sec.Type == elf.SHT_NOBITS {
			nobits = append(nobits, [2]uint64{sec.Addr, sec.Addr + sec.Size})
		}
	}
	ef.Close()
	inNobits := func(addr uint64) bool {
		for _, r := range nobits {
			if addr >= r[0] && addr < r[1] {
				return true
			}
		}
		return false
	}
	out, err := exec.Command("go", "tool", "nm", "-size", binary).Output()
	if err != nil {
		return nil, fmt.Errorf("go tool nm -size %s: %w", binary, err)
	}
	sums := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.ContainsAny(f[2], "TtRrDd") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		if addr, err := strconv.ParseUint(f[0], 16, 64); err != nil || inNobits(addr) {
			continue
		}
		sums[symbolPackage(strings.Join(f[3:], " "))] += n
	}
	var ps []pkgSize
	for k, v := range sums {
		ps = append(ps, pkgSize{k, v})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].size > ps[j].size })
	return ps, sc.Err()
}

func symbolPackage(sym string) string {
	for _, p := range []string{"type:", "go:", "runtime."} {
		if strings.HasPrefix(sym, p) {
			return strings.TrimSuffix(p, ".")
		}
	}
	slash := strings.LastIndex(sym, "/")
	dot := strings.Index(sym[slash+1:], ".")
	if dot < 0 {
		return "C"
	}
	return sym[:slash+1+dot]
}

func TestSymbolPackage(t *testing.T) {
	for sym, want := range map[string]string{
		"github.com/caamcrypt/caamcrypt/dm.Create":        "github.com/caamcrypt/caamcrypt/dm",
		"github.com/urfave/cli/v2.(*App).Run":             "github.com/urfave/cli/v2",
		"fmt.Fprintf":                                     "fmt",
		"type:*os.File":                                   "type:",
		"runtime.mallocgc":                                "runtime",
		"_cgo_topofstack":                                 "C",
		"vendor/golang.org/x/net/idna.(*Profile).process": "vendor/golang.org/x/net/idna",
		"crypto/internal/fips140/sha256.(*Digest).Write":  "crypto/internal/fips140/sha256",
	} {
		if got := symbolPackage(sym); got != want {
			t.Errorf("symbolPackage(%q) = %q, want %q", sym, got, want)
		}
	}
}
