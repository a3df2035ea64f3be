package keyops

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/pbkdf2"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keystore"
)

// fakeKeygen stands for the CAAM in these unit tests: it records what it
// was asked and returns tagged objects of the documented sizes. The real
// device is exercised in the QEMU rig against the caamsim module.
type fakeKeygen struct {
	specs    []caamc.KeySpec
	plain    [][]byte // copies of plaintexts, taken before the caller wipes them
	imported [][]byte
	err      error
}

func object(enc caamc.Encryption, redLen, objLen int) []byte {
	typ := caamc.TypeBlack
	if enc == caamc.CCM {
		typ |= caamc.TypeCCM
	}
	t := caamc.Tag{Magic: caamc.TagMagic, Type: typ, RedKeyLen: uint32(redLen), ObjLen: uint32(objLen)}
	return append(t.Bytes(), bytes.Repeat([]byte{0xbb}, objLen)...)
}

func (f *fakeKeygen) Create(enc caamc.Encryption, spec caamc.KeySpec) ([]byte, []byte, error) {
	f.specs = append(f.specs, spec)
	f.plain = append(f.plain, append([]byte(nil), spec.Plaintext...))
	if f.err != nil {
		return nil, nil, f.err
	}
	l := spec.Size
	if spec.Plaintext != nil {
		l = len(spec.Plaintext)
	}
	return object(enc, l, caamc.BlackKeySize(enc, l)), object(enc, l, caamc.BlobSize(l)), nil
}

func (f *fakeKeygen) Import(blob []byte) ([]byte, error) {
	f.imported = append(f.imported, blob)
	if f.err != nil {
		return nil, f.err
	}
	o, err := caamc.ParseObject(blob)
	if err != nil {
		return nil, err
	}
	l := int(o.Tag.RedKeyLen)
	return object(o.Encryption(), l, caamc.BlackKeySize(o.Encryption(), l)), nil
}

func TestCreateStoresSeedSizes(t *testing.T) {
	st := keystore.New(t.TempDir())
	kg := &fakeKeygen{}
	c, err := Create(kg, st, "randomkey", caamc.ECB, caamc.KeySpec{Size: 16}, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyLen != 36 || c.BlobLen != 96 {
		t.Fatalf("sizes %d/%d, want 36/96", c.KeyLen, c.BlobLen)
	}
	for p, n := range map[string]int64{c.KeyPath: 36, c.BlobPath: 96} {
		fi, err := os.Stat(p)
		if err != nil || fi.Size() != n {
			t.Fatalf("%s: %v size %d, want %d", p, err, fi.Size(), n)
		}
	}
}

func TestCreateRefusesBeforeAskingCAAM(t *testing.T) {
	st := keystore.New(t.TempDir())
	kg := &fakeKeygen{}
	if _, err := Create(kg, st, "k", caamc.ECB, caamc.KeySpec{Size: 16}, false); err != nil {
		t.Fatal(err)
	}
	old, _ := st.LoadBlob("k")
	_, err := Create(kg, st, "k", caamc.CCM, caamc.KeySpec{Size: 32}, false)
	if !errors.Is(err, fail.ErrRefused) || !errors.Is(err, keystore.ErrExists) {
		t.Fatalf("second create: %v, want refused as existing", err)
	}
	if !strings.Contains(err.Error(), "use --force to replace it") {
		t.Errorf("second create: %q does not say how to replace the key", err)
	}
	if len(kg.specs) != 1 {
		t.Fatalf("CAAM asked %d times; an existing key must be refused first", len(kg.specs))
	}
	if now, _ := st.LoadBlob("k"); !bytes.Equal(now, old) {
		t.Fatal("blob changed")
	}
}

func TestCreateCAAMFailureWritesNothing(t *testing.T) {
	dir := t.TempDir()
	st := keystore.New(dir)
	kg := &fakeKeygen{err: errors.New("Invalid key size, expected values are between 16 and 64 bytes.")}
	if _, err := Create(kg, st, "k", caamc.ECB, caamc.KeySpec{Size: 16}, false); err == nil {
		t.Fatal("create succeeded although CAAM failed")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("files written after a failed create: %v", ents)
	}
}

func TestImportValidatesAndStores(t *testing.T) {
	dir := t.TempDir()
	st := keystore.New(dir)
	kg := &fakeKeygen{}
	blob := object(caamc.CCM, 32, caamc.BlobSize(32))
	bp := filepath.Join(dir, "db.bb")
	os.WriteFile(bp, blob, 0o400)
	c, err := Import(kg, st, bp, "db-imported", false)
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyLen != 20+caamc.BlackKeySize(caamc.CCM, 32) {
		t.Fatalf("imported key %d bytes", c.KeyLen)
	}
	bad := filepath.Join(dir, "junk.bb")
	os.WriteFile(bad, []byte("not a blob at all, not at all"), 0o400)
	if _, err := Import(kg, st, bad, "x", false); !errors.Is(err, fail.ErrUsage) {
		t.Fatalf("import of junk: %v, want usage error", err)
	}
	if len(kg.imported) != 1 {
		t.Fatalf("junk reached the CAAM")
	}
}

// Derive must give the red key PBKDF2 defines, so that the same passphrase
// and salt recreate it (checked against x/crypto's PBKDF2 computed here).
func TestDeriveIsPBKDF2(t *testing.T) {
	st := keystore.New(t.TempDir())
	kg := &fakeKeygen{}
	salt, _ := hex.DecodeString("1112131415161718")
	pass := []byte("correct horse")
	d, err := Derive(kg, st, "pw", pass, DeriveParams{Digest: "sha256", Salt: salt, Iterations: 1000, KeySize: 32, Enc: caamc.ECB})
	if err != nil {
		t.Fatal(err)
	}
	want := pbkdf2.Key([]byte("correct horse"), salt, 1000, 48, sha256.New)
	if !bytes.Equal(kg.plain[0], want[:32]) {
		t.Fatalf("red key %x, want %x", kg.plain[0], want[:32])
	}
	if !bytes.Equal(d.IV, want[32:]) || !bytes.Equal(d.Salt, salt) {
		t.Fatalf("iv %x salt %x", d.IV, d.Salt)
	}
	if !bytes.Equal(pass, make([]byte, len(pass))) {
		t.Fatal("passphrase not wiped")
	}
	if d.KeyLen != 52 || d.BlobLen != 112 {
		t.Fatalf("sizes %d/%d, want 52/112", d.KeyLen, d.BlobLen)
	}
}

func TestDeriveRandomSaltAndErrors(t *testing.T) {
	st := keystore.New(t.TempDir())
	d, err := Derive(&fakeKeygen{}, st, "a", []byte("pw"), DeriveParams{Digest: "sha512", Iterations: 10, KeySize: 16})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Salt) != SaltLen || bytes.Equal(d.Salt, make([]byte, SaltLen)) {
		t.Fatalf("random salt %x", d.Salt)
	}
	bad := []DeriveParams{
		{Digest: "md5", Iterations: 10, KeySize: 16},
		{Digest: "sha1", Iterations: 0, KeySize: 16},
		{Digest: "sha1", Iterations: 10, KeySize: 15},
		{Digest: "sha1", Iterations: 10, KeySize: 65},
		{Digest: "sha1", Iterations: 10, KeySize: 16, Salt: []byte{1, 2, 3}},
	}
	for _, p := range bad {
		if _, err := Derive(&fakeKeygen{}, st, "b", []byte("pw"), p); !errors.Is(err, fail.ErrUsage) {
			t.Errorf("Derive(%+v) = %v, want usage error", p, err)
		}
	}
	if _, err := Derive(&fakeKeygen{}, st, "c", nil, DeriveParams{Digest: "sha1", Iterations: 1, KeySize: 16}); !errors.Is(err, fail.ErrUsage) {
		t.Errorf("empty passphrase accepted: %v", err)
	}
}

// About one PBKDF2 key in eight (32 bytes) has a zero byte, which the
// driver cannot take as a plaintext key: a random salt must be redrawn until
// the key has none, and a given salt that yields one must be refused.
func TestDeriveAvoidsZeroBytes(t *testing.T) {
	pass := "field engineer"
	var zeroSalt []byte
	for i := 0; i < 1000 && zeroSalt == nil; i++ {
		salt := []byte{0, 0, 0, 0, 0, 0, byte(i >> 8), byte(i)}
		if bytes.IndexByte(pbkdf2.Key([]byte(pass), salt, 10, 32+IVLen, sha256.New)[:32], 0) >= 0 {
			zeroSalt = salt
		}
	}
	if zeroSalt == nil {
		t.Fatal("no salt with a zero-byte key found in 1000 tries")
	}
	st := keystore.New(t.TempDir())
	_, err := Derive(&fakeKeygen{}, st, "fixed", []byte(pass), DeriveParams{Digest: "sha256", Salt: zeroSalt, Iterations: 10, KeySize: 32})
	if !errors.Is(err, fail.ErrUsage) {
		t.Fatalf("salt giving a zero byte: %v, want usage error", err)
	}
	for i := 0; i < 40; i++ {
		kg := &fakeKeygen{}
		d, err := Derive(kg, st, fmt.Sprintf("r%d", i), []byte(pass), DeriveParams{Digest: "sha256", Iterations: 10, KeySize: 32})
		if err != nil {
			t.Fatalf("random salt #%d: %v", i, err)
		}
		if bytes.IndexByte(kg.plain[0], 0) >= 0 {
			t.Fatalf("derived key with a zero byte reached the CAAM: %x", kg.plain[0])
		}
		want := pbkdf2.Key([]byte(pass), d.Salt, 10, 32+IVLen, sha256.New)
		if !bytes.Equal(kg.plain[0], want[:32]) {
			t.Fatal("printed salt does not reproduce the key")
		}
	}
}
