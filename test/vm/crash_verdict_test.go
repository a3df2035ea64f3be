package vm

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/internal/header"
)

// The crash-state verdicts are plain functions: checked here without a VM.

func TestCrashKeyFileVerdicts(t *testing.T) {
	b := func(s string) []byte { return []byte(s) }
	before := map[string][]byte{"k0": b("old-key"), "k0.bb": b("old-blob")}
	after := map[string][]byte{"k0": b("new-key"), "k0.bb": b("new-blob"), "k0.bb.2026": b("old-blob"), "k1": b("key1")}
	for _, c := range []struct {
		name  string
		state map[string][]byte
		want  []string
	}{
		{"old", map[string][]byte{"k0": b("old-key"), "k0.bb": b("old-blob")}, nil},
		{"new", after, nil},
		{"blob ahead of key", map[string][]byte{"k0": b("old-key"), "k0.bb": b("new-blob")}, nil},
		{"key ahead of blob", map[string][]byte{"k0": b("new-key"), "k0.bb": b("old-blob")}, []string{"key-ahead-of-blob:k0"}},
		{"partial", map[string][]byte{"k0": b("new-k"), "k0.bb": b("old-blob")}, []string{"partial:k0"}},
		{"neither", map[string][]byte{"k0": b("old-key")}, []string{"neither:k0.bb"}},
		{"temporary file ignored", map[string][]byte{"k0": b("old-key"), "k0.bb": b("old-blob"), ".k0.tmp-1": b("x")}, nil},
	} {
		if got := keyFileViolations(before, after, c.state); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCrashHeaderVerdicts(t *testing.T) {
	old, nw, other := []byte("old"), []byte("new"), []byte("other")
	var none [2][]byte
	for _, c := range []struct {
		name                 string
		before, after, state [2][]byte
		want                 string
	}{
		{"old in A", [2][]byte{old, old}, [2][]byte{nw, nw}, [2][]byte{old, nil}, ""},
		{"new in B", [2][]byte{old, old}, [2][]byte{nw, nw}, [2][]byte{nil, nw}, ""},
		{"lost", [2][]byte{old, old}, [2][]byte{nw, nw}, none, "header-lost"},
		{"other", [2][]byte{old, old}, [2][]byte{nw, nw}, [2][]byte{other, nil}, "header-other"},
		{"format: none before, none now", none, [2][]byte{nw, nw}, none, ""},
	} {
		if got := headerVerdict(c.before, c.after, c.state); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// A format's header written with the unfinished mark counts as the new
// header in the making; the same header with any other change does not.
func TestCrashHeaderVerdictUnfinishedFormat(t *testing.T) {
	// A tagged blob of a 32-byte red key: object (32+12)+48 = 92 bytes.
	blob := make([]byte, 20+92)
	copy(blob, []byte{0x4f, 0x67, 0x61, 0x54, 0, 0, 0, 0, 3, 0, 0, 0, 32, 0, 0, 0, 92, 0, 0, 0})
	h := &header.Header{UUID: uuid.New(), Label: "v", Backend: "caam-blob", Cipher: "capi:tk(cbc(aes))-plain",
		KeyEnc: "ecb", RedKeyLen: 32, KeyLen: header.KeyLenFor("ecb", 32), SectorSize: 4096,
		PayloadOffset: header.DefaultPayloadOffset, Created: time.Unix(1700000000, 0).UTC(), Blob: blob}
	marshal := func() []byte {
		b, err := h.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	final := marshal()
	h.Flags = header.FlagFormatting
	unfinished := marshal()
	h.Flags, h.Label = header.FlagFormatting, "w"
	otherUnfinished := marshal()
	var none [2][]byte
	after := [2][]byte{final, final}
	if got := headerVerdict(none, after, [2][]byte{unfinished, nil}); got != "" {
		t.Errorf("unfinished new header: %q, want accepted", got)
	}
	if got := headerVerdict(none, after, [2][]byte{otherUnfinished, nil}); got != "header-other" {
		t.Errorf("unfinished header with another label: %q, want header-other", got)
	}
}
