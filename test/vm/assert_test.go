package vm

import (
	"bytes"
	"strings"
	"testing"
)

// otherOTPMK stands for another SoC's fused master key (caamsim's otpmk=
// parameter): blobs sealed under the default key must not open under it.
const otherOTPMK = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// wantOutput fails unless the step ran and its output contains every want.
func wantOutput(t *testing.T, res *Result, step string, wants ...string) {
	t.Helper()
	s := res.Step(step)
	if s == nil {
		t.Fatalf("no step %q", step)
	}
	for _, w := range wants {
		if !strings.Contains(s.Output, w) {
			t.Errorf("step %s: output lacks %q:\n%s", step, w, s.Output)
		}
	}
}

// requireNoPlaintext fails when the plaintext marker reached the raw image
// of disk, when the image shows a plaintext ext4 superblock (magic 0xEF53 at
// byte 1024+56), or when its first MiB is all zeros (nothing was written,
// so the other checks would prove nothing).
func requireNoPlaintext(t *testing.T, m *Machine, disk, marker string) {
	t.Helper()
	raw := m.RawDisk(t, disk)
	if bytes.Contains(raw, []byte(marker)) {
		t.Errorf("%s: the plaintext marker is on the raw disk %s", m.Flavour(), m.DiskPath(disk))
	}
	if raw[1080] == 0x53 && raw[1081] == 0xef {
		t.Errorf("%s: raw disk %s shows a plaintext ext4 superblock", m.Flavour(), disk)
	}
	head := raw[:min(len(raw), 1<<20)]
	if bytes.Count(head, []byte{0}) == len(head) {
		t.Errorf("%s: first MiB of raw disk %s is all zeros: nothing was written", m.Flavour(), disk)
	}
}
