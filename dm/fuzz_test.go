package dm

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

const fuzzHexKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// FuzzParseCryptParams parses arbitrary crypt target parameters, as a
// table or DM_TABLE_STATUS prints them. Properties: a value or an error
// wrapping ErrInvalid, never both; an accepted value prints (String) to
// text that parses to the same value; Redacted hides a hex key; neither
// parse nor Validate errors quote the key.
func FuzzParseCryptParams(f *testing.F) {
	for _, s := range []string{
		seedParams,
		"capi:tk(cbc(aes))-plain :36:logon:caamcrypt:va 0 253:0 2048 1 sector_size:4096",
		"aes-cbc-essiv:sha256 " + fuzzHexKey + " 0 /dev/vda 0",
		"aes-xts-plain64 " + fuzzHexKey + " 0 8:0 0 3 allow_discards sector_size:512 iv_large_sectors",
		"capi:tk(cbc(aes))-plain - 0 8:0 0",
		"c k 0 d 0 2 one",
		"c k -1 d 0",
		"c k 0 d 18446744073709551616",
		"c " + fuzzHexKey + " x d 0",
		"",
	} {
		testutil.Seed(f, s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseCryptParams(s)
		// Only a key long enough to be key material (8+ bytes in hex) that
		// appears nowhere else is looked for in messages: a short key field
		// may match the message's own words, and another field, quoted
		// with %q (escapes such as \x00 spelled out), may contain it.
		fields := strings.Fields(s)
		keyElsewhere := len(fields) < 2 || len(fields[1]) < 16 || strings.Count(s, fields[1]) > 1
		for i, f := range fields {
			if i != 1 && !keyElsewhere && strings.Contains(strconv.Quote(f), fields[1]) {
				keyElsewhere = true
			}
		}
		if err != nil {
			if !reflect.DeepEqual(p, CryptParams{}) {
				t.Fatalf("ParseCryptParams returned %+v and an error: %v", p, err)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			if !keyElsewhere && !strings.HasPrefix(fields[1], ":") && strings.Contains(err.Error(), fields[1]) {
				t.Fatalf("error quotes the key: %v", err)
			}
			return
		}
		again, err := ParseCryptParams(p.String())
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("%+v prints as %q, which parses to %+v, %v", p, p.String(), again, err)
		}
		red := strings.Fields(p.Redacted())
		if p.Key != "-" && !strings.HasPrefix(p.Key, ":") && red[1] != Redacted {
			t.Fatalf("Redacted kept key field %q", red[1])
		}
		if err := p.Validate(); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate error does not wrap ErrInvalid: %v", err)
			}
			if !keyElsewhere && !strings.HasPrefix(p.Key, ":") && strings.Contains(err.Error(), p.Key) {
				t.Fatalf("Validate error quotes the key: %v", err)
			}
		}
	})
}

// FuzzParseKeyringKey parses arbitrary keyring key references. Properties:
// a value or an error wrapping ErrInvalid, never both; an accepted value
// has a positive size, a known type and a description without blanks, and
// prints to a reference that parses to the same value.
func FuzzParseKeyringKey(f *testing.F) {
	for _, s := range []string{":36:logon:logkey:", ":32:user:k", ":36:logon:nocolon", ":0:logon:a:", ":-1:user:x", "36:logon:a:", ":+36:logon:a:b", ":36:trusted:a b", ""} {
		testutil.Seed(f, s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKeyringKey(s)
		if err != nil {
			if k != (KeyringKey{}) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseKeyringKey: %+v, %v", k, err)
			}
			return
		}
		if k.Size <= 0 || !keyringKeyTypes[k.Type] || k.Description == "" || strings.ContainsAny(k.Description, " \t\n") {
			t.Fatalf("accepted %+v", k)
		}
		again, err := ParseKeyringKey(k.String())
		if err != nil || again != k {
			t.Fatalf("%+v prints as %q, which parses to %+v, %v", k, k.String(), again, err)
		}
	})
}

// FuzzRedactLine feeds arbitrary libdevmapper log lines to the redaction
// applied before they reach our log. Property: no run of 32 or more hex
// digits (a 16-byte or longer key in hex) survives, and a line without one
// is unchanged.
func FuzzRedactLine(f *testing.F) {
	for _, s := range []string{
		"device-mapper: reload ioctl on va failed: Invalid argument",
		"Adding target to (253:0): 0 2048 crypt aes-xts-plain64 " + fuzzHexKey + " 0 8:0 0",
		fuzzHexKey + "x" + fuzzHexKey,
		"",
	} {
		testutil.Seed(f, s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := redactLine(s)
		if hexRun.MatchString(out) {
			t.Fatalf("hex run survives in %q", out)
		}
		if !hexRun.MatchString(s) && out != s {
			t.Fatalf("line without key changed: %q -> %q", s, out)
		}
	})
}
