package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/volume"
)

func sampleStatus() volume.Status {
	return volume.Status{
		Name: "secrets", Type: "caamcrypt", UUID: "CAAMCRYPT-x", Node: "/dev/mapper/secrets", Device: "/dev/vdb",
		DeviceID: "254:16", Cipher: "capi:tk(cbc(aes))-plain", KeySize: 52, SectorSize: 4096,
		PayloadOffset: 1 << 20, Size: 63 << 20, OpenCount: 1, MountPoints: []string{"/var/lib/secrets"},
	}
}

// The JSON fields of status are the ones docs/json.md documents, no more,
// no fewer: scripts depend on them.
func TestStatusJSONMatchesDocs(t *testing.T) {
	documented := docTables(t, "## `caamcrypt status")[0]
	if got := jsonFields(t, sampleStatus()); strings.Join(got, " ") != strings.Join(documented, " ") {
		t.Errorf("status JSON fields\n  %v\ndocumented in docs/json.md\n  %v", got, documented)
	}
}

// The human form follows cryptsetup status: first line, then fields.
func TestStatusHumanForm(t *testing.T) {
	var b bytes.Buffer
	printStatus(&b, sampleStatus())
	out := b.String()
	for _, want := range []string{
		"/dev/mapper/secrets is active and is in use.\n",
		"  type:        caamcrypt\n",
		"  cipher:      capi:tk(cbc(aes))-plain\n",
		"  keysize:     52 bytes (tagged black key)\n",
		"  key:         unlinked from the keyring",
		"  device:      /dev/vdb\n",
		"  sector size: 4096\n",
		"  offset:      2048 sectors (1.0MiB)\n",
		"  size:        129024 sectors (63.0MiB)\n",
		"  mode:        read/write\n",
		"  mounted on:  /var/lib/secrets\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
}
