package probe

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/testutil"
	"github.com/google/uuid"
)

// escapeMountPath escapes a path the way the kernel writes it in mountinfo
// (space, tab, newline and backslash as \ooo).
func escapeMountPath(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\\':
			fmt.Fprintf(&sb, `\%03o`, c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// formatMount writes m as one mountinfo line, as the kernel would.
func formatMount(m Mount) string {
	line := fmt.Sprintf("%d %d %d:%d %s %s %s - %s %s", m.ID, m.Parent, m.Major, m.Minor,
		escapeMountPath(m.Root), escapeMountPath(m.MountPoint), m.Options, m.FSType, escapeMountPath(m.Source))
	if m.SuperOptions != "" {
		line += " " + m.SuperOptions
	}
	return line
}

// FuzzParseMountinfo parses arbitrary mountinfo text. Properties: mounts or
// an error, never both; every accepted line, written back the way the
// kernel writes it (paths escaped, optional fields dropped), parses to the
// same mount, so no path or field was cut or shifted.
func FuzzParseMountinfo(f *testing.F) {
	for _, s := range []string{
		"36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n",
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" +
			"98 22 253:0 / /mnt/with\\040space rw - ext4 /dev/mapper/va rw\n",
		"25 22 0:5 / /dev rw,nosuid - devtmpfs udev rw,size=100k\n",
		"30 22 0:27 / /mnt/a\u00a0b rw - tmpfs tmpfs rw\n",
		"1 2 3:4 / / rw -\n",
		"x 2 3:4 / / rw - ext4 /dev/x rw\n",
		"1 2 3 / / rw - ext4 /dev/x rw\n",
		"1 2 3:4 \\134 \\01 rw - ext4 \\",
		"",
	} {
		testutil.Seed(f, s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMountinfo(strings.NewReader(s))
		if err != nil {
			if ms != nil {
				t.Fatalf("ParseMountinfo returned mounts and an error: %v", err)
			}
			return
		}
		for _, m := range ms {
			line := formatMount(m)
			again, err := ParseMountinfo(strings.NewReader(line))
			if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], m) {
				t.Fatalf("mount %+v written as %q parses to %+v, %v", m, line, again, err)
			}
		}
	})
}

// FuzzMountinfoPaths writes mounts whose paths hold arbitrary bytes (any
// byte but NUL can be in a Linux path) the way the kernel does and parses
// them back. Property: the parser returns exactly the paths written, so a
// mount of the device cannot be missed or misplaced because of an unusual
// byte in a path.
func FuzzMountinfoPaths(f *testing.F) {
	for _, s := range []string{"mnt", "with space", "a\u00a0b", "a\u0085b", "tab\tnl\nbs\\", "a\x1cb", "\u2003", "-"} {
		testutil.Seed(f, s, "dev")
	}
	f.Fuzz(func(t *testing.T, mp, src string) {
		clean := func(s string) string { return "/" + strings.ReplaceAll(s, "\x00", "") }
		m := Mount{ID: 30, Parent: 22, Major: 253, Minor: 1, Root: clean(src), MountPoint: clean(mp),
			Options: "rw,relatime", FSType: "ext4", Source: clean(src), SuperOptions: "rw"}
		line := formatMount(m)
		got, err := ParseMountinfo(strings.NewReader(line))
		if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], m) {
			t.Fatalf("mount %+v written as %q parses to %+v, %v", m, line, got, err)
		}
	})
}

// FuzzSignatures probes arbitrary device images (the first 72 KiB, where
// every detector looks; the fuzzer's bytes are laid out from offset 0 and
// repeated at copy B's offset). Properties: no error from an in-memory
// device, every finding has a known kind and a detail, the result does not
// depend on bytes past the probe area, and an image holding a valid
// caamcrypt header is always reported as one.
func FuzzSignatures(f *testing.F) {
	h := &header.Header{
		UUID: uuid.MustParse("6f1c2a4e-8d1b-4c3e-9a57-0b2d4e6f8a10"), Label: "fz", Backend: header.BackendCAAMBlob,
		Cipher: "capi:tk(cbc(aes))-plain", KeyEnc: "ecb", RedKeyLen: 16, KeyLen: 36, SectorSize: 4096,
		PayloadOffset: header.DefaultPayloadOffset, Blob: fuzzBlob(16),
	}
	hb, err := h.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	testutil.Seed(f, hb)
	ext := make([]byte, 2048)
	copy(ext[1024+0x38:], []byte{0x53, 0xef})
	testutil.Seed(f, ext)
	mbr := make([]byte, 512)
	mbr[510], mbr[511] = 0x55, 0xaa
	testutil.Seed(f, mbr)
	luks := []byte("LUKS\xba\xbe\x00\x02")
	testutil.Seed(f, luks)
	testutil.Seed(f, []byte{})
	known := map[string]bool{KindFilesystem: true, KindPartitionTable: true, KindEncrypted: true, KindSwap: true}
	f.Fuzz(func(t *testing.T, b []byte) {
		img := make([]byte, probeSize+4096)
		copy(img, b)
		copy(img[header.CopyOffsets[1]:], b)
		got, err := Signatures(bytes.NewReader(img))
		if err != nil {
			t.Fatalf("in-memory device: %v", err)
		}
		for _, fd := range got {
			if !known[fd.Kind] || fd.Detail == "" {
				t.Fatalf("finding %+v", fd)
			}
		}
		for i := probeSize; i < len(img); i++ {
			img[i] = 0xa5
		}
		again, err := Signatures(bytes.NewReader(img))
		if err != nil || !reflect.DeepEqual(got, again) {
			t.Fatalf("bytes past the probe area changed the findings: %v then %v (%v)", got, again, err)
		}
		if _, _, err := header.Read(bytes.NewReader(img)); err == nil {
			found := false
			for _, fd := range got {
				found = found || fd.Kind == KindEncrypted && strings.Contains(fd.Detail, "caamcrypt")
			}
			if !found {
				t.Fatalf("valid caamcrypt header not reported: %v", got)
			}
		}
	})
}

// fuzzBlob is a syntactically valid tagged blob for a red key of redLen
// bytes (docs/caam-abi.md §3 layout: tag, then the blob object).
func fuzzBlob(redLen int) []byte {
	obj := (redLen+7)/8*8 + 12 + 48
	b := make([]byte, 20+obj)
	le.PutUint32(b[0:], header.TagMagic)
	le.PutUint32(b[8:], 3)
	le.PutUint32(b[12:], uint32(redLen))
	le.PutUint32(b[16:], uint32(obj))
	return b
}
