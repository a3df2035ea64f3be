package vm

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/internal/header"
)

// The joint verdicts of TestCrashStatesJoint, checked without a VM.

func jointTestHeader(t *testing.T, blobByte byte, unfinished bool) []byte {
	t.Helper()
	// A tagged blob of a 32-byte red key: object (32+12)+48 = 92 bytes.
	blob := make([]byte, 20+92)
	copy(blob, []byte{0x4f, 0x67, 0x61, 0x54, 0, 0, 0, 0, 3, 0, 0, 0, 32, 0, 0, 0, 92, 0, 0, 0})
	blob[40] = blobByte
	h := &header.Header{UUID: uuid.New(), Label: "v", Backend: "caam-blob", Cipher: "capi:tk(cbc(aes))-plain",
		KeyEnc: "ecb", RedKeyLen: 32, KeyLen: header.KeyLenFor("ecb", 32), SectorSize: 4096,
		PayloadOffset: header.DefaultPayloadOffset, Created: time.Unix(1700000000, 0).UTC(), Blob: blob}
	if unfinished {
		h.Flags = header.FlagFormatting
	}
	b, err := h.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCrashJointBlobVerdict(t *testing.T) {
	fin := jointTestHeader(t, 1, false)
	unf := jointTestHeader(t, 1, true)
	other := jointTestHeader(t, 2, false)
	h, err := header.Unmarshal(fin)
	if err != nil {
		t.Fatal(err)
	}
	blob := h.Blob
	before := map[string][]byte{"k0": []byte("k"), "k0.bb": []byte("b")}
	after := map[string][]byte{"k0": []byte("k"), "k0.bb": []byte("b"), "cv": []byte("key"), "cv.bb": blob}
	for _, c := range []struct {
		name       string
		state      map[string][]byte
		hc         [2][]byte
		bad        string
		wantImport bool
	}{
		{"no header, no key: the old state", before, [2][]byte{}, "", false},
		{"key saved, no header yet", after, [2][]byte{}, "", false},
		{"finished header, key saved", after, [2][]byte{fin, fin}, "", true},
		{"finished header, key not on the key disk", before, [2][]byte{fin, nil}, "blob-missing", false},
		{"finished header, blob only in a temporary file", map[string][]byte{"k0": []byte("k"), "k0.bb": []byte("b"), ".cv.bb.tmp": blob}, [2][]byte{nil, fin}, "blob-missing", false},
		{"unfinished header without key: open must name it", before, [2][]byte{unf, unf}, "", false},
		{"finished header of a blob the key directory never had", before, [2][]byte{other, other}, "", false},
	} {
		bad, imp := jointBlobVerdict(before, after, c.state, c.hc, "cv")
		if bad != c.bad || imp != c.wantImport {
			t.Errorf("%s: %q import %v, want %q import %v", c.name, bad, imp, c.bad, c.wantImport)
		}
	}
	// The old blob kept as a dated copy by key create --force counts.
	moved := map[string][]byte{"cv": []byte("new"), "cv.bb": []byte("new-blob"), "cv.bb.20261130T000000Z": blob}
	if bad, imp := jointBlobVerdict(after, moved, moved, [2][]byte{fin, fin}, "cv"); bad != "" || imp {
		t.Errorf("old header, old blob in its dated copy: %q import %v, want accepted without import", bad, imp)
	}
	if bad, _ := jointBlobVerdict(after, moved, map[string][]byte{"cv": []byte("new"), "cv.bb": []byte("new-blob")}, [2][]byte{fin, fin}, "cv"); bad != "blob-missing" {
		t.Errorf("old header, old blob gone: %q, want blob-missing", bad)
	}
}

func TestCrashJointPlainVerdict(t *testing.T) {
	after := map[string][]byte{"pk": []byte("key"), "pk.bb": []byte("blob")}
	for _, c := range []struct {
		name  string
		state map[string][]byte
		want  string
	}{
		{"blob there", after, ""},
		{"blob missing", map[string][]byte{"pk": []byte("key")}, "plain-blob-missing"},
		{"blob partial", map[string][]byte{"pk.bb": []byte("bl")}, "plain-blob-partial"},
	} {
		if got := jointPlainVerdict(after, c.state, "pk"); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestCrashJointGuestVerdict(t *testing.T) {
	for _, c := range []struct {
		name, o, p, n, imp, out string
		noHeader, importOK      bool
		want                    string
	}{
		{"opened clean", "0", "0", "0", "-", "", false, false, ""},
		{"opened, journal replayed", "0", "1", "0", "0", "", false, true, ""},
		{"opened, fs broken", "0", "4", "4", "-", "", false, false, "fs-unclean"},
		{"wrong key", "5", "-", "-", "-", "caamcrypt: wrong key", false, false, "wrong-key"},
		{"no header yet", "6", "-", "-", "-", "no caamcrypt header", true, false, ""},
		{"unfinished format named", "4", "-", "-", "-", "format did not finish", false, false, ""},
		{"other failure", "1", "-", "-", "-", "boom", false, false, "open-failed"},
		{"blob on the key disk does not import", "0", "0", "0", "5", "", false, true, "joint-import-failed"},
	} {
		if got := jointGuestVerdict(c.o, c.p, c.n, c.imp, c.out, c.noHeader, c.importOK); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
