package fsfixture

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Tool finds an e2fsprogs program on the host (/usr/sbin may not be in a
// non-root PATH).
func Tool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on the host (Debian package e2fsprogs)", name)
}

// Image makes the file img of devBytes holding an ext4 of fsBytes (<=
// devBytes; the rest of the device stays zero, room an in-place encrypt
// may take without shrinking the file system) populated from src with
// `mke2fs -d`, then checks it with `e2fsck -f -n`.
func Image(img string, devBytes, fsBytes int64, src string) error {
	if fsBytes > devBytes || fsBytes%4096 != 0 {
		return fmt.Errorf("fixture image: file system of %d bytes on a device of %d", fsBytes, devBytes)
	}
	f, err := os.Create(img)
	if err != nil {
		return err
	}
	err = f.Truncate(devBytes)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	mke2fs, err := Tool("mke2fs")
	if err != nil {
		return err
	}
	// A fixed UUID and hash seed keep the image the same for a seed.
	cmd := exec.Command(mke2fs, "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "fixture",
		"-U", "6b1f3b0e-5e1a-4c2a-9d7e-0c0ffee00012", "-E", "hash_seed=6b1f3b0e-5e1a-4c2a-9d7e-0c0ffee00013,nodiscard",
		"-d", src, img, fmt.Sprint(fsBytes/4096))
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mke2fs -d: %w: %s", err, out)
	}
	e2fsck, err := Tool("e2fsck")
	if err != nil {
		return err
	}
	if out, err := exec.Command(e2fsck, "-f", "-n", img).CombinedOutput(); err != nil {
		return fmt.Errorf("e2fsck -f -n of the fresh fixture: %w: %s", err, out)
	}
	return nil
}

// Xattrs returns the user.fixture xattr of every path of m that has one in
// the source tree src: what an image made from src must still hold.
func Xattrs(src string, m Manifest) (map[string]string, error) {
	out := map[string]string{}
	for _, e := range m {
		if e.Mode&0o170000 != 0o100000 {
			continue
		}
		b := make([]byte, 256)
		n, err := unix.Lgetxattr(filepath.Join(src, e.Path), "user.fixture", b)
		if err != nil {
			continue
		}
		out[e.Path] = string(b[:n])
	}
	return out, nil
}

// ImageXattr reads the user.fixture xattr of path (as "./a/b") in the
// unmounted ext4 image img with debugfs.
func ImageXattr(img, path string) (string, error) {
	debugfs, err := Tool("debugfs")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(debugfs, "-R", "ea_get -V \"/"+path[2:]+"\" user.fixture", img).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("debugfs ea_get %s: %w", path, err)
	}
	// debugfs exits 0 when it cannot open the file system at all.
	if strings.Contains(string(out), "Filesystem not open") {
		return "", fmt.Errorf("debugfs cannot open %s: %s", img, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
