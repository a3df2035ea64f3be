package caamc

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestTagEncoding(t *testing.T) {
	// Header of the seed's 36-byte key: "TagO" magic as a little-endian
	// u32, version 0, type 1, red 16, object 16.
	want, _ := hex.DecodeString("4f676154" + "00000000" + "01000000" + "10000000" + "10000000")
	tag := Tag{Magic: TagMagic, Version: 0, Type: 1, RedKeyLen: 16, ObjLen: 16}
	if got := tag.Bytes(); !bytes.Equal(got, want) {
		t.Fatalf("Bytes() = %x, want %x", got, want)
	}
	back, err := ParseTag(want)
	if err != nil || back != tag {
		t.Fatalf("ParseTag = %+v, %v; want %+v", back, err, tag)
	}
	if got := tag.AppendTo([]byte{0xaa}); !bytes.Equal(got, append([]byte{0xaa}, want...)) {
		t.Errorf("AppendTo = %x", got)
	}
}

func TestObjTypeBits(t *testing.T) {
	cases := []struct {
		typ                          ObjType
		black, blob, tdkek, ccm, sec bool
		state                        uint8
		enc                          Encryption
		str                          string
	}{
		{1, true, false, false, false, false, 0, ECB, "0x1 (black key, ECB, JDKEK, general memory, security state 0)"},
		{9, true, false, false, true, false, 0, CCM, "0x9 (black key, CCM, JDKEK, general memory, security state 0)"},
		{0, false, false, false, false, false, 0, ECB, "0x0 (red key, ECB, JDKEK, general memory, security state 0)"},
		{2, false, true, false, false, false, 0, ECB, "0x2 (red blob, "},
		{4 | 1, true, false, true, false, false, 0, ECB, "TDKEK"},
		{16 | 1, true, false, false, false, true, 0, ECB, "secure memory"},
		{0x20, false, false, false, false, false, 1, ECB, "security state 1"},
		{0x40, false, false, false, false, false, 2, ECB, "security state 2"},
		{0x7f, true, true, true, true, true, 3, CCM, "0x7f (black blob, CCM, TDKEK, secure memory, security state 3)"},
		{0x81, true, false, false, false, false, 0, ECB, "unknown bits 0x80"},
	}
	for _, c := range cases {
		if c.typ.Black() != c.black || c.typ.Blob() != c.blob || c.typ.TDKEK() != c.tdkek ||
			c.typ.CCM() != c.ccm || c.typ.SecureMem() != c.sec || c.typ.SecState() != c.state ||
			c.typ.Encryption() != c.enc {
			t.Errorf("type %#x decoded wrong", uint32(c.typ))
		}
		if s := c.typ.String(); !strings.Contains(s, c.str) {
			t.Errorf("type %#x: String() = %q, want it to contain %q", uint32(c.typ), s, c.str)
		}
	}
}

func TestEncryption(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Encryption
		ok   bool
	}{
		{"ecb", ECB, true}, {"CCM", CCM, true}, {" ccm ", CCM, true},
		{"", 0, false}, {"xts", 0, false}, {"ecb\x00", 0, false},
	} {
		got, err := ParseEncryption(c.in)
		if c.ok != (err == nil) || (c.ok && got != c.want) {
			t.Errorf("ParseEncryption(%q) = %v, %v", c.in, got, err)
		}
		if !c.ok && !strings.Contains(err.Error(), "expected ecb or ccm") {
			t.Errorf("ParseEncryption(%q) error %q", c.in, err)
		}
	}
	if ECB.String() != "ecb" || CCM.String() != "ccm" || Encryption(5).String() != "Encryption(5)" {
		t.Error("Encryption.String")
	}
	if Encryption(2).validate() == nil || ECB.validate() != nil || CCM.validate() != nil {
		t.Error("Encryption.validate")
	}
}
