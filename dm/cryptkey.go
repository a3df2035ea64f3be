package dm

import (
	"fmt"
	"strconv"
	"strings"
)

// KeyringKey is a dm-crypt key given by reference to the kernel keyring
// (dm-crypt 1.15+ / Linux 4.10+): ":<size>:<type>:<description>". dm-crypt
// looks the key up with request_key() in the keyrings of the process that
// loads the table, and Size must equal the payload length: 36 for the tagged
// black key of a 16-byte ECB key (keyctl_caam's README ":32:" fails EINVAL).
type KeyringKey struct {
	Size        int
	Type        string // logon, user, encrypted (5.7+) or trusted (5.12+)
	Description string // may itself contain ':' ("logkey:")
}

// keyringKeyTypes are the key types dm-crypt accepts in a keyring reference.
var keyringKeyTypes = map[string]bool{"logon": true, "user": true, "encrypted": true, "trusted": true}

// String formats k as the key field of a crypt table.
func (k KeyringKey) String() string {
	return fmt.Sprintf(":%d:%s:%s", k.Size, k.Type, k.Description)
}

// LogonKeySpec returns the crypt key field for a logon key of keyLen bytes
// with the given description: LogonKeySpec(36, "logkey:") = ":36:logon:logkey:".
func LogonKeySpec(keyLen int, description string) string {
	return KeyringKey{Size: keyLen, Type: "logon", Description: description}.String()
}

// ParseKeyringKey parses ":<size>:<type>:<description>", checking that the
// size is positive, the type is one dm-crypt knows and the description is
// not empty. A logon description also needs its "<prefix>:" (the kernel's
// logon key type refuses descriptions without one).
func ParseKeyringKey(s string) (KeyringKey, error) {
	bad := func(format string, a ...any) (KeyringKey, error) {
		return KeyringKey{}, fmt.Errorf("dm: keyring key %q: "+format+": %w", append([]any{s}, append(a, ErrInvalid)...)...)
	}
	if !strings.HasPrefix(s, ":") {
		return bad("want :<size>:<type>:<description>")
	}
	f := strings.SplitN(s[1:], ":", 3)
	if len(f) != 3 {
		return bad("want :<size>:<type>:<description>")
	}
	size, err := strconv.Atoi(f[0])
	if err != nil || size <= 0 {
		return bad("size %q must be a positive byte count", f[0])
	}
	if !keyringKeyTypes[f[1]] {
		return bad("key type %q is not one of logon, user, encrypted, trusted", f[1])
	}
	if f[2] == "" || strings.ContainsAny(f[2], " \t\n") {
		return bad("description is empty or contains blanks")
	}
	if f[1] == "logon" {
		if i := strings.IndexByte(f[2], ':'); i <= 0 {
			return bad("a logon key description needs a \"<prefix>:\" such as \"caamcrypt:\"")
		}
	}
	return KeyringKey{Size: size, Type: f[1], Description: f[2]}, nil
}

// Redacted is what RedactParams puts in place of a key that is key material.
const Redacted = "<redacted>"

// RedactParams returns crypt target parameters with the key field made safe
// to log. A keyring reference names a key without revealing it and is kept;
// "-" (no key) is kept; anything else is hex key material and becomes
// "<redacted>". The kernel prints the hex key in table output (some kernels
// print zeros once the key is wiped); both forms are redacted alike, since
// they cannot be told apart reliably. Strings too short to hold a key field
// are returned unchanged.
func RedactParams(s string) string {
	f := strings.Fields(s)
	if len(f) < 2 {
		return s
	}
	if f[1] == "-" {
		return strings.Join(f, " ")
	}
	if strings.HasPrefix(f[1], ":") {
		// A keyring reference (hex never starts with ':'), even a
		// malformed one, carries no key material.
		return strings.Join(f, " ")
	}
	f[1] = Redacted
	return strings.Join(f, " ")
}
