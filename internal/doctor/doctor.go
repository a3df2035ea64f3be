// Package doctor checks whether a device is ready for caamcrypt: the CAAM
// keygen device, the tk() ciphers, the device-mapper crypt target, the
// kernel keyring, udev, and the filesystem tools. Each failed check says
// what is missing and which kernel option or package provides it
// (docs/caam-abi.md §4, §6, §7).
package doctor

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

// Status of one check.
type Status string

// Check outcomes: a failed check makes the device not ready; a warning
// does not.
const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Result is one check's outcome.
type Result struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Hint   string `json:"hint,omitempty"`
}

// TargetVersion is a device-mapper target and its version.
type TargetVersion struct {
	Name                string
	Major, Minor, Patch uint32
}

// Env is what the checks look at. Paths are roots so tests can point them
// at a prepared tree; functions stand for the kernel calls.
type Env struct {
	Dev, Proc, Run, Boot string // usually /dev, /proc, /run, /boot
	CAAMDevice           string // usually /dev/caam-keygen
	// DMTargets lists the device-mapper targets the kernel has.
	DMTargets func() ([]TargetVersion, error)
	// KeyringProbe adds and removes a logon key in the default keyring.
	KeyringProbe func() error
	// LookPath finds a program (exec.LookPath).
	LookPath func(string) (string, error)
	// KernelRelease is `uname -r`, to find /boot/config-<release>.
	KernelRelease string
}

// Report is the list of results; Ready is false when any check failed.
type Report struct {
	Ready   bool     `json:"ready"`
	Results []Result `json:"checks"`
}

// Run performs every check.
func Run(e Env) Report {
	cfg := kernelConfig(e)
	checks := []func(Env, map[string]string) Result{
		checkCAAM, checkTkCiphers, checkDMCrypt, checkKeyring, checkUdev, checkTools,
	}
	r := Report{Ready: true}
	for _, c := range checks {
		res := c(e, cfg)
		if res.Status == Fail {
			r.Ready = false
		}
		r.Results = append(r.Results, res)
	}
	return r
}

// configHint names the kernel options behind a failed check, with their
// state in the running kernel's config when it can be read.
func configHint(cfg map[string]string, opts ...string) string {
	var parts []string
	for _, o := range opts {
		v, ok := cfg[o]
		switch {
		case cfg == nil:
			parts = append(parts, o+"=y")
		case !ok:
			parts = append(parts, o+" (not set in the running kernel)")
		default:
			parts = append(parts, o+"="+v)
		}
	}
	return "kernel config: " + strings.Join(parts, ", ")
}

// kernelConfig reads /proc/config.gz or /boot/config-<release>; nil when
// neither is there.
func kernelConfig(e Env) map[string]string {
	var r io.Reader
	if f, err := os.Open(filepath.Join(e.Proc, "config.gz")); err == nil {
		defer f.Close()
		if z, err := gzip.NewReader(f); err == nil {
			r = z
		}
	}
	if r == nil && e.KernelRelease != "" {
		b, err := os.ReadFile(filepath.Join(e.Boot, "config-"+e.KernelRelease))
		if err != nil {
			return nil
		}
		r = bytes.NewReader(b)
	}
	if r == nil {
		return nil
	}
	cfg := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.HasPrefix(k, "CONFIG_") {
			cfg[k] = v
		}
	}
	return cfg
}

// DefaultLookPath is exec.LookPath, also trying the sbin directories that
// a non-root PATH may lack.
func DefaultLookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/sbin", "/usr/sbin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH", name)
}
