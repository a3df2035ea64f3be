package volume

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

// freshExt4 makes a small ext4 image with the host's mke2fs (with
// metadata_csum, Debian's default) and returns its path and superblock.
func freshExt4(t *testing.T, extra ...string) (string, []byte) {
	mke2fs := testutil.RequireCommand(t, "mke2fs")
	img := filepath.Join(t.TempDir(), "fs.img")
	args := append([]string{"-q", "-F", "-t", "ext4", "-O", "metadata_csum"}, extra...)
	if out, err := exec.Command(mke2fs, append(args, img, "4M")...).CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, out)
	}
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	return img, b[extSuperOffset : extSuperOffset+extSuperSize]
}

// resum recomputes the superblock checksum after a field was changed, so a
// test exercises the field and not the checksum.
func resum(sb []byte) {
	binary.LittleEndian.PutUint32(sb[extChecksum:], ^crc32.Checksum(sb[:extChecksum], castagnoli))
}

func TestExtCheckReasonFreshFilesystemIsClean(t *testing.T) {
	img, sb := freshExt4(t)
	if r := extCheckReason(sb); r != "" {
		t.Fatalf("fresh ext4: reason %q, want clean", r)
	}
	if r := readExtCheckReason(img); r != "" {
		t.Fatalf("readExtCheckReason(fresh image) = %q, want clean", r)
	}
	// e2fsck -p agrees: exit 0 on the same image.
	if e2fsck, err := exec.LookPath("e2fsck"); err == nil {
		if out, err := exec.Command(e2fsck, "-p", img).CombinedOutput(); err != nil {
			t.Fatalf("e2fsck -p on the image we call clean: %v\n%s", err, out)
		}
	}
}

func TestExtCheckReasonAsksForCheck(t *testing.T) {
	_, clean := freshExt4(t)
	le := binary.LittleEndian
	cases := []struct {
		name, want string
		edit       func(sb []byte)
	}{
		{"not unmounted", "not cleanly unmounted", func(sb []byte) { le.PutUint16(sb[extState:], 0) }},
		{"error state", "errors recorded", func(sb []byte) { le.PutUint16(sb[extState:], extStateValid|extStateErrors) }},
		{"error count", "errors recorded", func(sb []byte) { le.PutUint32(sb[extErrorCount:], 3) }},
		{"journal", "journal needs recovery", func(sb []byte) {
			le.PutUint32(sb[extFeatureIncompat:], le.Uint32(sb[extFeatureIncompat:])|extIncompatRecover)
		}},
		{"orphans", "orphan inodes", func(sb []byte) { le.PutUint32(sb[extLastOrphan:], 12) }},
		{"mount count", "mounted 20 times", func(sb []byte) {
			le.PutUint16(sb[extMntCount:], 20)
			le.PutUint16(sb[extMaxMntCount:], 20)
		}},
		{"interval", "time-based checks enabled", func(sb []byte) { le.PutUint32(sb[extCheckInterval:], 86400) }},
	}
	for _, c := range cases {
		sb := append([]byte(nil), clean...)
		c.edit(sb)
		resum(sb)
		if r := extCheckReason(sb); !strings.HasPrefix(r, c.want) {
			t.Errorf("%s: reason %q, want %q", c.name, r, c.want)
		}
	}
	// Mount count below a positive maximum is still clean.
	sb := append([]byte(nil), clean...)
	le.PutUint16(sb[extMntCount:], 3)
	le.PutUint16(sb[extMaxMntCount:], 20)
	resum(sb)
	if r := extCheckReason(sb); r != "" {
		t.Errorf("3 of 20 mounts: reason %q, want clean", r)
	}
	// A changed field without a new checksum is a checksum mismatch.
	sb = append([]byte(nil), clean...)
	le.PutUint16(sb[extMntCount:], 1)
	if r := extCheckReason(sb); r != "superblock checksum mismatch" {
		t.Errorf("stale checksum: reason %q", r)
	}
	if r := extCheckReason(make([]byte, extSuperSize)); r != "no ext superblock" {
		t.Errorf("zeros: reason %q", r)
	}
	if r := extCheckReason(clean[:100]); r != "short superblock" {
		t.Errorf("short: reason %q", r)
	}
	if r := readExtCheckReason(filepath.Join(t.TempDir(), "missing")); !strings.HasPrefix(r, "cannot read superblock") {
		t.Errorf("missing device: reason %q", r)
	}
}
