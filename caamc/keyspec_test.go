package caamc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestKeySpecValidate(t *testing.T) {
	p := func(n int) []byte { return bytes.Repeat([]byte{'k'}, n) }
	cases := []struct {
		name    string
		spec    KeySpec
		redLen  int
		wantErr error
		msg     string
	}{
		{"size 16", KeySpec{Size: 16}, 16, nil, ""},
		{"size 64", KeySpec{Size: 64}, 64, nil, ""},
		{"size 15", KeySpec{Size: 15}, 0, ErrKeySize, "key size 15 bytes: Invalid key size, expected values are between 16 and 64 bytes."},
		{"size 65", KeySpec{Size: 65}, 0, ErrKeySize, "key size 65 bytes"},
		{"size -16", KeySpec{Size: -16}, 0, ErrKeySize, "key size -16"},
		{"neither", KeySpec{}, 0, ErrKeySize, "neither a size nor a plaintext"},
		{"both", KeySpec{Size: 16, Plaintext: p(16)}, 0, ErrKeySize, "both a size (16) and a plaintext"},
		{"plain 16", KeySpec{Plaintext: p(16)}, 16, nil, ""},
		{"plain 64", KeySpec{Plaintext: p(64)}, 64, nil, ""},
		{"plain 15", KeySpec{Plaintext: p(15)}, 0, ErrKeySize, "plaintext key is 15 bytes"},
		{"plain 65", KeySpec{Plaintext: p(65)}, 0, ErrKeySize, "plaintext key is 65 bytes: Invalid key size, expected values are between 16 and 64 bytes."},
		{"plain empty", KeySpec{Plaintext: []byte{}}, 0, ErrKeySize, "plaintext key is 0 bytes"},
		{"plain NUL", KeySpec{Plaintext: append(p(5), append([]byte{0}, p(20)...)...)}, 0, ErrBadPlaintext, "NUL byte at offset 5"},
	}
	for _, c := range cases {
		n, err := c.spec.validate()
		if c.wantErr == nil {
			if err != nil || n != c.redLen {
				t.Errorf("%s: got %d, %v; want %d", c.name, n, err, c.redLen)
			}
			continue
		}
		if !errors.Is(err, c.wantErr) || !strings.Contains(fmtErr(err), c.msg) {
			t.Errorf("%s: error %v, want %v containing %q", c.name, err, c.wantErr, c.msg)
		}
		if strings.Contains(fmtErr(err), "kkkk") {
			t.Errorf("%s: error message shows plaintext: %v", c.name, err)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestKeySpecKeyValue(t *testing.T) {
	for _, c := range []struct {
		spec  KeySpec
		mode  string
		value []byte
		trace string
		wire  int // key_value_len: the red key length for "-t", no NUL counted
	}{
		{KeySpec{Size: 16}, "-s", []byte("16\x00"), "16", 3},
		{KeySpec{Size: 64}, "-s", []byte("64\x00"), "64", 3},
		{KeySpec{Plaintext: []byte("0123456789abcdef")}, "-t", []byte("0123456789abcdef\x00"), "<redacted>", 16},
	} {
		if got := c.spec.keyValueWireLen(); got != c.wire {
			t.Errorf("%q: key_value_len %d, want %d", c.value, got, c.wire)
		}
		n := c.spec.keyValueLen()
		buf := bytes.Repeat([]byte{0xff}, n)
		c.spec.putKeyValue(buf)
		if c.spec.mode() != c.mode || !bytes.Equal(buf, c.value) || c.spec.traceValue() != c.trace {
			t.Errorf("%+v: mode %q value %q trace %q", c.spec.Size, c.spec.mode(), buf, c.spec.traceValue())
		}
	}
}
