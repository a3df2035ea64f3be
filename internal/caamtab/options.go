package caamtab

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// parseOptions parses the comma-separated options column. Unknown options,
// bad values and a valued option given twice are errors (a typo such as
// "nofial" must not silently make boot depend on a volume).
func parseOptions(s string) (Options, string) {
	var o Options
	valued := map[string]bool{}
	for _, opt := range strings.Split(s, ",") {
		if opt == "" {
			return o, fmt.Sprintf("empty option in %q (doubled or trailing comma)", s)
		}
		key, val, hasVal := strings.Cut(opt, "=")
		if hasVal {
			if valued[key] {
				return o, fmt.Sprintf("option %s= given twice", key)
			}
			valued[key] = true
		}
		var msg string
		switch key {
		case "nofail", "noauto", "readonly", "ro", "discard", "keep-key":
			if hasVal {
				return o, fmt.Sprintf("option %s takes no value", key)
			}
			setFlag(&o, key)
			continue
		case "mount", "fs", "sector-size", "type", "keyring", "cipher":
			if !hasVal || val == "" {
				return o, fmt.Sprintf("option %s needs a value (%s=...)", key, key)
			}
			msg = setValue(&o, key, val)
		default:
			return o, fmt.Sprintf("unknown option %q (known: mount=, fs=, sector-size=, type=, keyring=, cipher=, nofail, noauto, readonly, ro, discard, keep-key)", opt)
		}
		if msg != "" {
			return o, msg
		}
	}
	if o.FS == "none" && o.Mount != "" {
		return o, "fs=none and mount= contradict each other: there is no filesystem to mount"
	}
	return o, ""
}

func setFlag(o *Options, key string) {
	switch key {
	case "nofail":
		o.NoFail = true
	case "noauto":
		o.NoAuto = true
	case "readonly", "ro":
		o.ReadOnly = true
	case "discard":
		o.Discard = true
	case "keep-key":
		o.KeepKey = true
	}
}

// setValue stores one key=value option, or says why the value is bad.
func setValue(o *Options, key, val string) string {
	switch key {
	case "mount":
		if !filepath.IsAbs(val) {
			return fmt.Sprintf("mount=%s: the mount point must be an absolute path", val)
		}
		o.Mount = filepath.Clean(val)
	case "fs":
		if val != "ext4" && val != "none" {
			return fmt.Sprintf("fs=%s: supported values are ext4 and none", val)
		}
		o.FS = val
	case "sector-size":
		n, err := strconv.Atoi(val)
		if err != nil || n < 512 || n > 4096 || n&(n-1) != 0 {
			return fmt.Sprintf("sector-size=%s: must be 512, 1024, 2048 or 4096", val)
		}
		o.SectorSize = n
	case "type":
		if val != TypeCaamcrypt && val != TypePlain {
			return fmt.Sprintf("type=%s: must be %s or %s", val, TypeCaamcrypt, TypePlain)
		}
		o.Type = val
	case "keyring":
		switch val {
		case "@u", "@s", "@us", "@p", "@t":
		default:
			return fmt.Sprintf("keyring=%s: must be @u, @s, @us, @p or @t", val)
		}
		o.Keyring = val
	case "cipher":
		for _, c := range val {
			if c <= ' ' || c > '~' {
				return fmt.Sprintf("cipher=%q: printable characters only", val)
			}
		}
		o.Cipher = val
	}
	return ""
}
