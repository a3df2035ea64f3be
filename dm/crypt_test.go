package dm

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// seedParams is the crypt part of the seed document's table (docs/caam-abi.md §1, §12).
const seedParams = "capi:tk(cbc(aes))-plain :36:logon:logkey: 0 /dev/vdb 0 1 sector_size:512"

func TestParseCryptParamsSeed(t *testing.T) {
	p, err := ParseCryptParams(seedParams)
	if err != nil {
		t.Fatalf("ParseCryptParams(seed): %v", err)
	}
	want := CryptParams{
		Cipher:  "capi:tk(cbc(aes))-plain",
		Key:     ":36:logon:logkey:",
		Device:  "/dev/vdb",
		Options: []string{"sector_size:512"},
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("parsed %+v, want %+v", p, want)
	}
	if got := p.String(); got != seedParams {
		t.Fatalf("String() = %q, want the seed %q", got, seedParams)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("seed params do not validate: %v", err)
	}
	k, err := ParseKeyringKey(p.Key)
	if err != nil {
		t.Fatalf("ParseKeyringKey(%q): %v", p.Key, err)
	}
	if k != (KeyringKey{Size: 36, Type: "logon", Description: "logkey:"}) {
		t.Fatalf("keyring key = %+v", k)
	}
}

func TestCryptParamsRoundTrip(t *testing.T) {
	cases := []CryptParams{
		{Cipher: "aes-xts-plain64", Key: strings.Repeat("ab", 64), IVOffset: 0, Device: "8:16", Offset: 4096},
		{Cipher: "capi:tk(cbc(aes))-plain", Key: LogonKeySpec(52, "caamcrypt:data"), IVOffset: 7, Device: "/dev/mmcblk2p3", Offset: 8,
			Options: []string{"allow_discards", "sector_size:4096", "iv_large_sectors"}},
		{Cipher: "cipher_null-ecb", Key: "-", Device: "/dev/loop0"},
	}
	for _, c := range cases {
		s := c.String()
		got, err := ParseCryptParams(s)
		if err != nil {
			t.Errorf("ParseCryptParams(%q): %v", RedactParams(s), err)
			continue
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("round trip of %q: got %+v", RedactParams(s), got)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("Validate(%q): %v", RedactParams(s), err)
		}
	}
}

func TestParseCryptParamsErrors(t *testing.T) {
	cases := map[string]string{
		"too few fields":      "aes-cbc-plain :32:logon:a:b 0 /dev/vdb",
		"iv offset not num":   "aes-cbc-plain :32:logon:a:b x /dev/vdb 0",
		"offset negative":     "aes-cbc-plain :32:logon:a:b 0 /dev/vdb -1",
		"opt count bad":       "aes-cbc-plain :32:logon:a:b 0 /dev/vdb 0 one allow_discards",
		"opt count too big":   "aes-cbc-plain :32:logon:a:b 0 /dev/vdb 0 2 allow_discards",
		"opt count too small": "aes-cbc-plain :32:logon:a:b 0 /dev/vdb 0 1 allow_discards same_cpu_crypt",
	}
	for name, s := range cases {
		if _, err := ParseCryptParams(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: ParseCryptParams(%q) = %v, want ErrInvalid", name, s, err)
		}
	}
}

func TestParseCryptParamsErrorHidesKey(t *testing.T) {
	key := strings.Repeat("5a", 16)
	_, err := ParseCryptParams("aes-cbc-plain " + key + " zz /dev/vdb 0")
	if err == nil || strings.Contains(err.Error(), key) {
		t.Fatalf("error %v must exist and not contain the key", err)
	}
}

func TestValidate(t *testing.T) {
	base := func() CryptParams {
		return CryptParams{Cipher: "capi:tk(cbc(aes))-plain", Key: ":36:logon:logkey:", Device: "/dev/vdb"}
	}
	good := []func(p *CryptParams){
		func(p *CryptParams) {},
		func(p *CryptParams) { p.Options = []string{"sector_size:4096"}; p.Offset = 8 },
		func(p *CryptParams) { p.Options = []string{"sector_size:1024"} },
		func(p *CryptParams) {
			p.Options = []string{"allow_discards", "same_cpu_crypt", "submit_from_crypt_cpus", "no_read_workqueue", "no_write_workqueue", "iv_large_sectors"}
		},
		func(p *CryptParams) { p.Device = "253:0" },
		func(p *CryptParams) { p.Key = strings.Repeat("0f", 32) },
		func(p *CryptParams) { p.Key = ":32:trusted:kmk" },
	}
	for i, f := range good {
		p := base()
		f(&p)
		if err := p.Validate(); err != nil {
			t.Errorf("good case %d (%s): %v", i, p.Redacted(), err)
		}
	}
	bad := map[string]func(p *CryptParams){
		"sector_size 256":         func(p *CryptParams) { p.Options = []string{"sector_size:256"} },
		"sector_size 8192":        func(p *CryptParams) { p.Options = []string{"sector_size:8192"} },
		"sector_size 1536":        func(p *CryptParams) { p.Options = []string{"sector_size:1536"} },
		"sector_size text":        func(p *CryptParams) { p.Options = []string{"sector_size:big"} },
		"unaligned offset":        func(p *CryptParams) { p.Options = []string{"sector_size:4096"}; p.Offset = 3 },
		"unknown option":          func(p *CryptParams) { p.Options = []string{"go_faster"} },
		"duplicate option":        func(p *CryptParams) { p.Options = []string{"allow_discards", "allow_discards"} },
		"empty key":               func(p *CryptParams) { p.Key = "" },
		"odd hex":                 func(p *CryptParams) { p.Key = "abc" },
		"non hex":                 func(p *CryptParams) { p.Key = "zz" },
		"key size 0":              func(p *CryptParams) { p.Key = ":0:logon:logkey:" },
		"key size text":           func(p *CryptParams) { p.Key = ":x:logon:logkey:" },
		"unknown key type":        func(p *CryptParams) { p.Key = ":36:big_key:logkey:" },
		"logon without prefix":    func(p *CryptParams) { p.Key = ":36:logon:logkey" },
		"logon empty prefix":      func(p *CryptParams) { p.Key = ":36:logon::x" },
		"empty description":       func(p *CryptParams) { p.Key = ":36:user:" },
		"relative device":         func(p *CryptParams) { p.Device = "vdb" },
		"bad maj:min":             func(p *CryptParams) { p.Device = "8:x" },
		"empty cipher":            func(p *CryptParams) { p.Cipher = "" },
		"cipher with blank":       func(p *CryptParams) { p.Cipher = "aes cbc" },
		"keyring key missing len": func(p *CryptParams) { p.Key = ":logon:logkey:" },
	}
	for name, f := range bad {
		p := base()
		f(&p)
		if err := p.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Validate(%s) = %v, want ErrInvalid", name, p.Redacted(), err)
		}
	}
}

func TestSectorSize(t *testing.T) {
	for opts, want := range map[string]int{"": 512, "sector_size:512": 512, "allow_discards sector_size:4096": 4096} {
		p := CryptParams{Options: strings.Fields(opts)}
		got, err := p.SectorSize()
		if err != nil || got != want {
			t.Errorf("SectorSize(%q) = %d, %v; want %d", opts, got, err, want)
		}
	}
}

func TestLogonKeySpec(t *testing.T) {
	if got := LogonKeySpec(36, "logkey:"); got != ":36:logon:logkey:" {
		t.Fatalf("LogonKeySpec(36, logkey:) = %q", got)
	}
	if got := LogonKeySpec(52, "caamcrypt:vol1"); got != ":52:logon:caamcrypt:vol1" {
		t.Fatalf("LogonKeySpec(52, caamcrypt:vol1) = %q", got)
	}
}

func TestRedactParams(t *testing.T) {
	hexKey := strings.Repeat("0123456789abcdef", 4)
	zeros := strings.Repeat("0", 64)
	cases := []struct{ in, want string }{
		{seedParams, seedParams},
		{"aes-xts-plain64 " + hexKey + " 0 8:16 0", "aes-xts-plain64 <redacted> 0 8:16 0"},
		{"aes-xts-plain64 " + zeros + " 0 8:16 0 1 allow_discards", "aes-xts-plain64 <redacted> 0 8:16 0 1 allow_discards"},
		{"cipher_null-ecb - 0 /dev/loop0 0", "cipher_null-ecb - 0 /dev/loop0 0"},
		{":32:trusted:kmk", ":32:trusted:kmk"},
		{"", ""},
		{"aes-cbc-plain  " + hexKey + "  0 /dev/vdb 0", "aes-cbc-plain <redacted> 0 /dev/vdb 0"},
	}
	for _, c := range cases {
		if got := RedactParams(c.in); got != c.want {
			t.Errorf("RedactParams(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := (CryptParams{Cipher: "aes-cbc-plain", Key: hexKey, Device: "/dev/vdb"}).Redacted(); strings.Contains(got, hexKey) {
		t.Errorf("Redacted() leaks the key: %q", got)
	}
}
