package doctor

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/caamcrypt/caamcrypt/internal/fstool"
)

func checkCAAM(e Env, cfg map[string]string) Result {
	r := Result{Name: "caam-keygen device"}
	st, err := os.Stat(e.CAAMDevice)
	switch {
	case err != nil:
		r.Status, r.Detail = Fail, fmt.Sprintf("%s is missing: CAAM black keys cannot be made or imported", e.CAAMDevice)
		r.Hint = "needs NXP's linux-imx kernel with the CAAM keygen driver; " +
			configHint(cfg, "CONFIG_CRYPTO_DEV_FSL_CAAM", "CONFIG_CRYPTO_DEV_FSL_CAAM_JR", "CONFIG_CRYPTO_DEV_FSL_CAAM_TK_API") +
			"; for tests, load caamcrypt's caamsim module"
	case st.Mode()&os.ModeCharDevice == 0:
		r.Status, r.Detail = Fail, fmt.Sprintf("%s is not a character device", e.CAAMDevice)
	default:
		r.Status, r.Detail = OK, e.CAAMDevice+" present"
	}
	return r
}

// cryptoDrivers returns the driver names /proc/crypto lists for each
// algorithm name.
func cryptoDrivers(proc string) (map[string][]string, error) {
	f, err := os.Open(filepath.Join(proc, "crypto"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]string{}
	var name string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "name":
			name = v
		case "driver":
			out[name] = append(out[name], v)
		}
	}
	return out, sc.Err()
}

func checkTkCiphers(e Env, cfg map[string]string) Result {
	r := Result{Name: "tk ciphers"}
	drivers, err := cryptoDrivers(e.Proc)
	if err != nil {
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot read %s/crypto: %v", e.Proc, err)
		return r
	}
	var have, missing []string
	for _, alg := range []string{"tk(cbc(aes))", "tk(ecb(aes))"} {
		if d := drivers[alg]; len(d) > 0 {
			have = append(have, alg+" ("+strings.Join(d, ", ")+")")
		} else {
			missing = append(missing, alg)
		}
	}
	switch {
	case len(have) == 0:
		r.Status, r.Detail = Fail, "no tagged-key ciphers in /proc/crypto: dm-crypt cannot use black keys"
		r.Hint = configHint(cfg, "CONFIG_CRYPTO_DEV_FSL_CAAM_TK_API")
	case len(missing) > 0:
		r.Status, r.Detail = Warn, fmt.Sprintf("%s; missing %s", strings.Join(have, ", "), strings.Join(missing, ", "))
	default:
		r.Status, r.Detail = OK, strings.Join(have, ", ")
	}
	return r
}

func checkDMCrypt(e Env, cfg map[string]string) Result {
	r := Result{Name: "device-mapper crypt target"}
	// /proc/misc lists device-mapper only when the kernel has it; the
	// /dev/mapper/control node alone proves nothing (libdevmapper creates
	// it on first use even without kernel support).
	misc, err := os.ReadFile(filepath.Join(e.Proc, "misc"))
	if err != nil || !strings.Contains(string(misc), " device-mapper\n") {
		r.Status, r.Detail = Fail, "the running kernel has no device-mapper (not in /proc/misc)"
		r.Hint = configHint(cfg, "CONFIG_BLK_DEV_DM", "CONFIG_DM_CRYPT") + " (or load dm-mod)"
		return r
	}
	targets, err := e.DMTargets()
	if err != nil {
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot list device-mapper targets: %v", err)
		return r
	}
	for _, t := range targets {
		if t.Name == "crypt" {
			r.Status, r.Detail = OK, fmt.Sprintf("crypt target v%d.%d.%d", t.Major, t.Minor, t.Patch)
			if t.Major == 1 && t.Minor < 15 {
				r.Status = Warn
				r.Detail += ": keys from the kernel keyring need crypt 1.15 or later"
			}
			return r
		}
	}
	r.Status, r.Detail = Fail, "device-mapper has no crypt target"
	r.Hint = configHint(cfg, "CONFIG_DM_CRYPT") + " (or load dm-crypt)"
	return r
}

func checkKeyring(e Env, cfg map[string]string) Result {
	r := Result{Name: "kernel keyring"}
	if err := e.KeyringProbe(); err != nil {
		r.Status, r.Detail = Fail, fmt.Sprintf("cannot add a logon key: %v", err)
		r.Hint = configHint(cfg, "CONFIG_KEYS")
		return r
	}
	r.Status, r.Detail = OK, "logon keys can be added and removed"
	return r
}

func checkUdev(e Env, _ map[string]string) Result {
	r := Result{Name: "udev", Status: OK}
	if _, err := os.Stat(filepath.Join(e.Run, "udev", "control")); err == nil {
		r.Detail = "udev is running: device nodes come from udev"
	} else {
		r.Detail = "no udev running: caamcrypt creates /dev/mapper nodes itself"
	}
	return r
}

func checkTools(e Env, _ map[string]string) Result {
	r := Result{Name: "filesystem tools"}
	var found, missing []string
	for _, p := range []string{"mke2fs", "e2fsck"} {
		if path, err := e.LookPath(p); err == nil {
			found = append(found, path)
		} else {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		r.Status = Warn
		r.Detail = "missing " + strings.Join(missing, ", ") + ": only --fs none volumes can be formatted and opened"
		r.Hint = fstool.Hint
		return r
	}
	// A BusyBox image has an mke2fs applet that cannot make ext4: format
	// refuses it before writing; say so here first.
	if _, err := fstool.CheckMke2fs(context.Background(), e.LookPath); err != nil {
		r.Status = Warn
		r.Detail = fmt.Sprintf("%v; only --fs none volumes can be formatted", err)
		r.Hint = fstool.Hint
		return r
	}
	r.Status, r.Detail = OK, strings.Join(found, ", ")
	return r
}
