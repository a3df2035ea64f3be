package volume

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// procKernel is KernelFeatures over libdevmapper's target list, /proc/crypto
// and the module directory.
type procKernel struct{ proc, modules string }

func (k procKernel) CryptReady(cipher string) error {
	vs, err := dm.Versions()
	if err != nil {
		return fmt.Errorf("%w: device-mapper is not usable: %w", fail.ErrNotReady, err)
	}
	if _, ok := dm.FindTarget(vs, "crypt"); !ok && !k.moduleAvailable("dm-crypt") {
		// Not loaded, and no module the kernel could load on demand.
		return fmt.Errorf("%w: the kernel has no dm-crypt target (CONFIG_DM_CRYPT; modprobe dm-crypt)", fail.ErrNotReady)
	}
	alg := capiAlgorithm(cipher)
	if alg == "" {
		return nil
	}
	have, err := k.cryptoAlgorithms()
	if err != nil {
		return fmt.Errorf("%w: cannot read %s/crypto: %w", fail.ErrNotReady, k.proc, err)
	}
	if !have[alg] {
		return fmt.Errorf("%w: the kernel has no %s cipher: the CAAM driver's tagged-key API is missing "+
			"(CONFIG_CRYPTO_DEV_FSL_CAAM_TK_API; docs/caam-abi.md §4)", fail.ErrNotReady, alg)
	}
	return nil
}

// capiAlgorithm returns the crypto API name in a "capi:" cipher spec of a
// tagged-key cipher ("capi:tk(cbc(aes))-plain" gives "tk(cbc(aes))"), ""
// for others: only the tk() ciphers come from a driver that may be absent
// while dm-crypt is there (docs/caam-abi.md §4).
func capiAlgorithm(cipher string) string {
	rest, ok := strings.CutPrefix(cipher, "capi:")
	if !ok || !strings.HasPrefix(rest, "tk(") {
		return ""
	}
	if i := strings.LastIndexByte(rest, '-'); i > 0 {
		rest = rest[:i]
	}
	return rest
}

// cryptoAlgorithms lists the algorithm names in /proc/crypto.
func (k procKernel) cryptoAlgorithms() (map[string]bool, error) {
	b, err := os.ReadFile(filepath.Join(k.proc, "crypto"))
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if key, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(key) == "name" {
			out[strings.TrimSpace(v)] = true
		}
	}
	return out, sc.Err()
}

// moduleAvailable reports whether modules.dep of the running kernel lists
// module name (dm-crypt.ko, compressed or not), which the kernel loads on
// the first table that needs it.
func (k procKernel) moduleAvailable(name string) bool {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	b, err := os.ReadFile(filepath.Join(k.modules, unix.ByteSliceToString(u.Release[:]), "modules.dep"))
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		path, _, _ := strings.Cut(sc.Text(), ":")
		if base := filepath.Base(path); base == name+".ko" || strings.HasPrefix(base, name+".ko.") {
			return true
		}
	}
	return false
}

// caamPresent refuses before anything is made when the caam-keygen node
// is missing (the tk() check would otherwise name the cipher first,
// although the missing CAAM driver is the cause).
func (m *Manager) caamPresent() error {
	p := m.cfg.CAAMDevice
	if p == "" {
		return nil // fakes in unit tests
	}
	if _, err := os.Stat(p); err != nil {
		return fmt.Errorf("%w: %s is missing: no CAAM keygen driver (NXP's linux-imx kernel; for tests the caamsim module): %w",
			fail.ErrNotReady, p, err)
	}
	return nil
}
