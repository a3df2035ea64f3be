package probe

import (
	"bytes"
	"encoding/binary"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/testutil"
	"github.com/google/uuid"
)

func img() []byte { return make([]byte, 128<<10) }

func put(b []byte, off int, s string) { copy(b[off:], s) }

func findings(t *testing.T, b []byte) []Finding {
	t.Helper()
	f, err := Signatures(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// expectOne asserts exactly one finding of kind whose detail contains every
// one of want.
func expectOne(t *testing.T, name string, b []byte, kind string, want ...string) {
	t.Helper()
	f := findings(t, b)
	if len(f) != 1 || f[0].Kind != kind {
		t.Fatalf("%s: findings %v, want one %q", name, f, kind)
	}
	for _, w := range want {
		if !strings.Contains(f[0].Detail, w) {
			t.Errorf("%s: detail %q lacks %q", name, f[0].Detail, w)
		}
	}
}

func extImage(compat, incompat, ro uint32) []byte {
	b := img()
	sb := b[1024:]
	binary.LittleEndian.PutUint16(sb[56:], 0xEF53)
	binary.LittleEndian.PutUint32(sb[24:], 2) // 4 KiB blocks
	binary.LittleEndian.PutUint32(sb[76:], 1)
	binary.LittleEndian.PutUint32(sb[92:], compat)
	binary.LittleEndian.PutUint32(sb[96:], incompat)
	binary.LittleEndian.PutUint32(sb[100:], ro)
	copy(sb[104:], []byte{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8})
	put(sb, 120, "rootfs")
	return b
}

func TestExtVariants(t *testing.T) {
	expectOne(t, "ext2", extImage(0x38, 0x2, 0x3), KindFilesystem, "ext2 filesystem", `label "rootfs"`, "UUID 12345678-9abc-def0-0102-030405060708")
	expectOne(t, "ext3", extImage(0x3c, 0x2, 0x3), KindFilesystem, "ext3 filesystem")
	expectOne(t, "ext4", extImage(0x3c, 0x2c2, 0x47b), KindFilesystem, "ext4 filesystem")
	expectOne(t, "ext4 dirty", extImage(0x3c, 0x2c6, 0x47b), KindFilesystem, "ext4 filesystem", "needs recovery")
	bad := extImage(0x3c, 0x2, 0x3)
	binary.LittleEndian.PutUint32(bad[1024+24:], 40) // impossible block size
	if f := findings(t, bad); len(f) != 0 {
		t.Errorf("ext magic with impossible block size: %v", f)
	}
}

func TestOtherFilesystems(t *testing.T) {
	x := img()
	put(x, 0, "XFSB")
	binary.BigEndian.PutUint32(x[4:], 4096)
	put(x, 108, "xlabel")
	expectOne(t, "xfs", x, KindFilesystem, "XFS", `"xlabel"`)

	bt := img()
	put(bt, 64<<10+0x40, "_BHRfS_M")
	put(bt, 64<<10+0x12b, "btr")
	expectOne(t, "btrfs", bt, KindFilesystem, "btrfs", `"btr"`)

	sq := img()
	put(sq, 0, "hsqs")
	binary.LittleEndian.PutUint16(sq[28:], 4)
	expectOne(t, "squashfs", sq, KindFilesystem, "squashfs 4.0")

	lk := img()
	put(lk, 0, "LUKS\xba\xbe")
	binary.BigEndian.PutUint16(lk[6:], 2)
	put(lk, 24, "secret-stuff")
	put(lk, 168, "0f0e0d0c-0b0a-4908-8706-050403020100")
	expectOne(t, "luks2", lk, KindEncrypted, "LUKS2", `"secret-stuff"`, "0f0e0d0c-0b0a")

	nt := img()
	put(nt, 3, "NTFS    ")
	nt[510], nt[511] = 0x55, 0xAA
	expectOne(t, "ntfs", nt, KindFilesystem, "NTFS")

	iso := img()
	put(iso, 32<<10+1, "CD001")
	put(iso, 32<<10+40, "DEBIAN")
	expectOne(t, "iso", iso, KindFilesystem, "ISO 9660", `"DEBIAN"`)
}

func TestSwapPageSizes(t *testing.T) {
	for _, ps := range []int{4096, 16384, 65536} {
		s := img()
		put(s, ps-10, "SWAPSPACE2")
		put(s, 1052, "swappy")
		expectOne(t, "swap", s, KindSwap, "swap", `"swappy"`)
	}
}

func fatImage(fat32 bool) []byte {
	b := img()
	b[0], b[1], b[2] = 0xEB, 0x3C, 0x90
	put(b, 3, "mkfs.fat")
	binary.LittleEndian.PutUint16(b[11:], 512)
	b[13] = 4
	binary.LittleEndian.PutUint16(b[14:], 1)
	b[16] = 2
	b[21] = 0xF8
	sig, id, lab, typ, fatType := 38, 39, 43, 54, "FAT16   "
	binary.LittleEndian.PutUint16(b[22:], 32)
	if fat32 {
		binary.LittleEndian.PutUint16(b[22:], 0)
		sig, id, lab, typ, fatType = 66, 67, 71, 82, "FAT32   "
	}
	b[sig] = 0x29
	binary.LittleEndian.PutUint32(b[id:], 0xABCD1234)
	put(b, lab, "BOOT       ")
	put(b, typ, fatType)
	// Boot code bytes where an MBR would keep its partition entries.
	for i := 446; i < 510; i++ {
		b[i] = byte(i)
	}
	b[510], b[511] = 0x55, 0xAA
	return b
}

func TestFATIsNotMBR(t *testing.T) {
	expectOne(t, "fat16", fatImage(false), KindFilesystem, "FAT16 (vfat)", `"BOOT"`, "ABCD-1234")
	expectOne(t, "fat32", fatImage(true), KindFilesystem, "FAT32 (vfat)", `"BOOT"`)
}

func mbrImage(types ...byte) []byte {
	b := img()
	for i := 0; i < 440; i++ {
		b[i] = byte(i * 13) // boot code, no BPB
	}
	for i, ty := range types {
		e := b[446+16*i:]
		e[4] = ty
		binary.LittleEndian.PutUint32(e[8:], 2048)
		binary.LittleEndian.PutUint32(e[12:], 100000)
	}
	b[510], b[511] = 0x55, 0xAA
	return b
}

func TestPartitionTables(t *testing.T) {
	expectOne(t, "mbr", mbrImage(0x83, 0x0c), KindPartitionTable, "MBR", "2 partition")
	if f := findings(t, mbrImage()); len(f) != 0 {
		t.Errorf("boot signature with no partitions reported: %v", f)
	}
	g := mbrImage(0xEE)
	put(g, 512, "EFI PART")
	expectOne(t, "gpt", g, KindPartitionTable, "GPT", "512-byte")
	g4 := img()
	put(g4, 4096, "EFI PART")
	expectOne(t, "gpt 4k", g4, KindPartitionTable, "GPT", "4096-byte")
}

func TestCaamcryptHeader(t *testing.T) {
	b := img()
	blob := make([]byte, 96)
	binary.LittleEndian.PutUint32(blob[0:], header.TagMagic)
	binary.LittleEndian.PutUint32(blob[12:], 16)
	binary.LittleEndian.PutUint32(blob[16:], 76)
	h := &header.Header{
		UUID: uuid.MustParse("11111111-2222-4333-8444-555555555555"), Label: "vault",
		Backend: header.BackendCAAMBlob, Cipher: "capi:tk(cbc(aes))-plain", KeyEnc: "ecb",
		RedKeyLen: 16, KeyLen: 36, SectorSize: 4096, PayloadOffset: header.DefaultPayloadOffset,
		Created: time.Unix(1, 0), Blob: blob,
	}
	w := &sliceWriter{b}
	if err := header.Write(w, h); err != nil {
		t.Fatal(err)
	}
	expectOne(t, "caamcrypt", b, KindEncrypted, "caamcrypt volume", "11111111-2222", `"vault"`)
	b[100] ^= 1
	b[64<<10+100] ^= 1
	expectOne(t, "damaged caamcrypt", b, KindEncrypted, "unreadable header")
}

type sliceWriter struct{ b []byte }

func (w *sliceWriter) WriteAt(p []byte, off int64) (int, error) { return copy(w.b[off:], p), nil }

func TestNoFalsePositives(t *testing.T) {
	if f := findings(t, img()); len(f) != 0 {
		t.Errorf("zeros: %v", f)
	}
	if f := findings(t, nil); len(f) != 0 {
		t.Errorf("empty device: %v", f)
	}
	for seed := int64(1); seed <= 200; seed++ {
		b := img()
		rand.New(rand.NewSource(seed)).Read(b)
		if f := findings(t, b); len(f) != 0 {
			t.Errorf("random data (seed %d): %v", seed, f)
		}
	}
}

func TestShortDevice(t *testing.T) {
	b := extImage(0x3c, 0x2c2, 0x47b)[:2048]
	expectOne(t, "short ext4", b, KindFilesystem, "ext4")
}

// Real tools, when present, must agree with the synthetic images.
func TestRealMkfs(t *testing.T) {
	cases := []struct {
		tool string
		args []string
		want string
	}{
		{"mkfs.ext4", []string{"-q", "-F", "-L", "real4"}, `ext4 filesystem, label "real4"`},
		{"mkfs.ext3", []string{"-q", "-F", "-L", "real3"}, `ext3 filesystem, label "real3"`},
		{"mkfs.ext2", []string{"-q", "-F"}, "ext2 filesystem"},
		{"mkswap", []string{"-L", "sw"}, `swap area, label "sw"`},
	}
	for _, c := range cases {
		t.Run(c.tool, func(t *testing.T) {
			tool := testutil.RequireCommand(t, c.tool)
			p := filepath.Join(t.TempDir(), "img")
			if err := os.WriteFile(p, make([]byte, 8<<20), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(tool, append(c.args, p)...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", c.tool, err, out)
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := Signatures(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !strings.Contains(got[0].Detail, c.want) {
				t.Fatalf("findings %v, want one containing %q", got, c.want)
			}
		})
	}
}
