package vm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// VolatileCache is the Config.DiskCache value that gives every disk a
// write cache that a power cut empties: writes the guest has not flushed
// may be lost when QEMU is killed, as on a disk with a volatile cache.
//
// No QEMU cache mode of a raw image does that (a write QEMU accepted is
// in the host's page cache and outlives QEMU; powercut.go and
// test/vm/README.md, "Power cuts"). So each boot writes to a fresh qcow2
// overlay over the disk's raw image (cache=writeback, so the guest's
// flushes reach it). QEMU writes a write's data to the overlay file at
// once, but the table entry that says where it is (qcow2's L2 entry) only
// when the guest flushes or QEMU needs a new table: killed, QEMU takes the
// entries not yet written with it, and those writes are gone, cluster by
// cluster. After the boot the overlay, as it is on the host, is committed
// into the raw image. What this loses is a subset of the unflushed
// writes (those to clusters first written since the last flush), never a
// flushed one; the crash-state replay (dm-log-writes) covers the other
// subsets, and reordering.
const VolatileCache = "volatile"

// overlayPath is the qcow2 overlay of disk name for the boot in bootDir.
func overlayPath(bootDir, name string) string {
	return filepath.Join(bootDir, "disk-"+name+".qcow2")
}

// qemuImg finds qemu-img (CAAMCRYPT_VM_QEMU_IMG overrides it).
func qemuImg() (string, error) {
	img, err := lookPathEnv("CAAMCRYPT_VM_QEMU_IMG", "qemu-img")
	if err != nil {
		return "", fmt.Errorf("DiskCache %q needs qemu-img (Debian: qemu-utils): %w", VolatileCache, err)
	}
	return img, nil
}

// makeOverlays creates this boot's overlay of every disk.
func (m *Machine) makeOverlays(bootDir string) error {
	img, err := qemuImg()
	if err != nil {
		return err
	}
	for _, d := range m.cfg.Disks {
		if _, err := runQEMUImg(img, "create", "-q", "-f", "qcow2", "-o", fmt.Sprintf("cluster_size=%d", overlayCluster),
			"-F", "raw", "-b", m.DiskPath(d.Name), overlayPath(bootDir, d.Name)); err != nil {
			return err
		}
	}
	return nil
}

// overlayCluster is the overlays' cluster size: the unit in which a kill
// loses writes (a write to part of a cluster copies the rest from the raw
// image first).
const overlayCluster = 64 << 10

// commitOverlays writes what each overlay holds on the host into its raw
// image (the writes whose table entries reached the file) and removes it.
// It returns the clusters of data the overlays hold that no table refers
// to: the writes a kill lost (0 after a clean power-off).
func (m *Machine) commitOverlays(bootDir string) (dropped int, err error) {
	img, err := qemuImg()
	if err != nil {
		return 0, err
	}
	for _, d := range m.cfg.Disks {
		o := overlayPath(bootDir, d.Name)
		n, err := unreferencedClusters(img, o)
		if err != nil {
			return 0, err
		}
		dropped += n
		if _, err := runQEMUImg(img, "commit", "-q", "-d", o); err != nil {
			return 0, err
		}
		if err := os.Remove(o); err != nil {
			return 0, err
		}
	}
	return dropped, nil
}

// unreferencedClusters counts the clusters of overlay o that QEMU wrote
// but no table on the host refers to: leaked ones (counted in a refcount
// block that reached the file) and those past the image's end as its
// refcounts describe it (written at the end of the file, counted only in
// QEMU's memory).
func unreferencedClusters(img, o string) (int, error) {
	out, err := runQEMUImg(img, "check", "--output=json", o)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) { // 3: leaks found, nothing corrupt
		return 0, err
	}
	var c struct {
		Leaks          int   `json:"leaks"`
		Corruptions    int   `json:"corruptions"`
		ImageEndOffset int64 `json:"image-end-offset"`
	}
	if err := json.Unmarshal(out, &c); err != nil {
		return 0, fmt.Errorf("qemu-img check %s: %w", o, err)
	}
	if c.Corruptions != 0 {
		return 0, fmt.Errorf("qemu-img check %s: %d corruptions", o, c.Corruptions)
	}
	st, err := os.Stat(o)
	if err != nil {
		return 0, err
	}
	past := (st.Size()+overlayCluster-1)/overlayCluster - (c.ImageEndOffset+overlayCluster-1)/overlayCluster
	return c.Leaks + int(max(past, 0)), nil
}

// runQEMUImg runs qemu-img and returns its standard output.
func runQEMUImg(img string, args ...string) ([]byte, error) {
	var stderr strings.Builder
	cmd := exec.Command(img, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("qemu-img %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}
