package volume

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/uuid"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// Volume types.
const (
	TypeCAAMCrypt = "caamcrypt" // header + payload at 1 MiB (default)
	TypePlain     = "plain"     // the seed's headerless layout
)

const (
	// uuidPrefix starts the dm UUID of every mapping caamcrypt creates:
	// CAAMCRYPT-<type>-<volume uuid>-<name> for caamcrypt volumes and
	// CAAMCRYPT-plain-<name> for plain ones. Status and close recognise
	// their mappings by it; the dm UUID is visible in dmsetup info.
	uuidPrefix = "CAAMCRYPT-"
	// checkPrefix names the short-lived key-check mapping of a volume.
	checkPrefix = "caamcrypt-check-"
	// checkUUIDPrefix starts the dm UUID of a key-check mapping.
	checkUUIDPrefix = "CAAMCRYPT-CHECK-"
	// keyDescPrefix starts the description of the logon key a volume's
	// table names (the key is unlinked after the table load by default).
	keyDescPrefix = "caamcrypt:"
	// maxNameLen keeps "caamcrypt-check-<name>" within the 127 bytes of a
	// dm device name (DM_NAME_LEN 128 with the NUL).
	maxNameLen = 100
)

// ValidName checks a volume (mapping) name: a plain name usable as a
// /dev/mapper entry and a lock file name.
func ValidName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: volume name %q %s", fail.ErrUsage, name, why)
	}
	switch {
	case name == "":
		return bad("is empty")
	case len(name) > maxNameLen:
		return bad(fmt.Sprintf("is longer than %d bytes", maxNameLen))
	case name == "control" || strings.HasPrefix(name, "."):
		return bad("is reserved (control) or starts with a dot")
	case strings.HasPrefix(name, checkPrefix):
		return bad("starts with " + checkPrefix + ", used for key-check mappings")
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-+:@", r)
		if !ok {
			return bad("may contain only letters, digits and . _ - + : @")
		}
	}
	return nil
}

// defaultName picks a volume name when none was given: the header label,
// else the device's base name (vdb, mmcblk2p3).
func defaultName(label, device string) string {
	if label != "" && ValidName(label) == nil {
		return label
	}
	return filepath.Base(device)
}

// checkName is the key-check mapping of volume name.
func checkName(name string) string { return checkPrefix + name }

// keyDescription is the logon key description of a volume, from its name
// for both types. The name is what every operation is locked by, so no two
// runs load a key of one description at once, and close NAME can drop a
// key a killed open left even when no mapping says which volume it was
// (a UUID-based description was unknown to close in that case).
func keyDescription(name string) string {
	return keyDescPrefix + name
}

// mapUUID is the dm UUID of a volume's payload mapping.
func mapUUID(typ string, id uuid.UUID, name string) string {
	if typ == TypeCAAMCrypt {
		return uuidPrefix + typ + "-" + id.String() + "-" + name
	}
	return uuidPrefix + TypePlain + "-" + name
}

// mapIdent is what a dm UUID says about a caamcrypt mapping.
type mapIdent struct {
	Type string    // TypeCAAMCrypt or TypePlain
	UUID uuid.UUID // volume UUID (caamcrypt type)
	Name string    // volume name at creation
}

// parseMapUUID decodes a dm UUID made by mapUUID; ok is false for mappings
// caamcrypt did not create (and for key-check mappings).
func parseMapUUID(s string) (id mapIdent, ok bool) {
	rest, found := strings.CutPrefix(s, uuidPrefix)
	if !found || strings.HasPrefix(s, checkUUIDPrefix) {
		return mapIdent{}, false
	}
	if r, found := strings.CutPrefix(rest, TypePlain+"-"); found {
		return mapIdent{Type: TypePlain, Name: r}, r != ""
	}
	r, found := strings.CutPrefix(rest, TypeCAAMCrypt+"-")
	if !found || len(r) < 38 || r[36] != '-' {
		return mapIdent{}, false
	}
	u, err := uuid.Parse(r[:36])
	if err != nil {
		return mapIdent{}, false
	}
	return mapIdent{Type: TypeCAAMCrypt, UUID: u, Name: r[37:]}, true
}

// keyDesc is the key description of the mapping described by id.
func (id mapIdent) keyDesc() string { return keyDescription(id.Name) }
