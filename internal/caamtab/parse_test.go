package caamtab

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

func TestParseExampleFile(t *testing.T) {
	es, err := ParseFile(filepath.Join("testdata", "caamtab.example"))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 4 {
		t.Fatalf("%d entries, want 4", len(es))
	}
	d := es[0]
	if d.Name != "data" || d.Device != "UUID=6f1c2a4e-8d1b-4c3e-9a57-0b2d4e6f8a10" || d.Key != "" ||
		d.Options != (Options{Mount: "/data", FS: "ext4", Type: TypeCaamcrypt, NoFail: true}) || d.Line != 9 {
		t.Errorf("data entry %+v", d)
	}
	l := es[1]
	if l.Key != "" || l.Options != (Options{Mount: "/var/log/app", Type: TypeCaamcrypt, Discard: true, Keyring: "@u"}) {
		t.Errorf("logs entry %+v", l)
	}
	s := es[2]
	if s.Options != (Options{FS: "none", Type: TypeCaamcrypt, NoAuto: true}) {
		t.Errorf("scratch entry %+v", s)
	}
	p := es[3]
	if p.Key != "randomkey" || p.Options != (Options{Mount: "/legacy", SectorSize: 512, Type: TypePlain, ReadOnly: true}) {
		t.Errorf("legacy entry %+v", p)
	}
}

func TestParseForms(t *testing.T) {
	in := `
a /dev/sda1
b /dev/sdb1 -   # trailing comment
  # indented comment
c LABEL=x#y none readonly,keep-key,keyring=@s
d /dev/sdc /data/caam/k.bb cipher=capi:tk(cbc(aes))-plain,sector-size=4096
e PARTLABEL=enc k2
`
	es, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 5 {
		t.Fatalf("%d entries: %+v", len(es), es)
	}
	if es[0].Options.Type != TypeCaamcrypt || es[0].Line != 2 || es[1].Key != "" || es[1].Line != 3 {
		t.Errorf("a/b: %+v %+v", es[0], es[1])
	}
	if es[2].Device != "LABEL=x#y" || !es[2].Options.ReadOnly || !es[2].Options.KeepKey || es[2].Options.Keyring != "@s" {
		t.Errorf("c: %+v", es[2])
	}
	if es[3].Key != "/data/caam/k.bb" || es[3].Options.Type != TypePlain || es[3].Options.Cipher != "capi:tk(cbc(aes))-plain" || es[3].Options.SectorSize != 4096 {
		t.Errorf("d: %+v", es[3])
	}
	if es[4].Key != "k2" || es[4].Options.Type != TypePlain {
		t.Errorf("e: %+v", es[4])
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"a", "need at least a name and a device"},
		{"a /dev/x - ro extra", "too many fields"},
		{"a /dev/x - nofial", `unknown option "nofial"`},
		{"a /dev/x - ro,,discard", "empty option"},
		{"a /dev/x - nofail=yes", "takes no value"},
		{"a /dev/x - mount=", "needs a value"},
		{"a /dev/x - mount", "needs a value"},
		{"a /dev/x - mount=data", "absolute path"},
		{"a /dev/x - fs=xfs", "ext4 and none"},
		{"a /dev/x - fs=none,mount=/d", "contradict"},
		{"a /dev/x - sector-size=1000", "512, 1024, 2048 or 4096"},
		{"a /dev/x - sector-size=8192", "512, 1024"},
		{"a /dev/x - sector-size=abc", "512, 1024"},
		{"a /dev/x - type=luks", "caamcrypt or plain"},
		{"a /dev/x - keyring=@x", "@u, @s"},
		{"a /dev/x - cipher=aes", "plain volumes only"},
		// open refuses a sector size for a caamcrypt volume (its header
		// has it): caught here, not as a failed volume at boot.
		{"a /dev/x - sector-size=4096", "sector-size= is for plain volumes only"},
		{"a /dev/x - sector-size=512,sector-size=4096", "given twice"},
		{"a /dev/x k type=caamcrypt", "write '-' as key"},
		{"a /dev/x - type=plain", "needs a key name or path"},
		{"a /dev/x mount=/d", "looks like options"},
		{"a /dev/x keys/k", "no '/'"},
		{"a dev/x", "absolute path"},
		{"a FOO=bar", "expected a path"},
		{"a UUID=", "empty UUID"},
		{"-a /dev/x", "must be 1..127"},
		{"a/b /dev/x", "not allowed"},
		{strings.Repeat("n", 128) + " /dev/x", "must be 1..127"},
	}
	for _, c := range cases {
		_, err := ParseNamed(strings.NewReader("# first line\n"+c.in+"\n"), "/etc/caamtab")
		if err == nil {
			t.Errorf("%q: accepted", c.in)
			continue
		}
		if !errors.Is(err, fail.ErrUsage) {
			t.Errorf("%q: %v does not wrap ErrUsage", c.in, err)
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 2 || pe.File != "/etc/caamtab" {
			t.Errorf("%q: %v is not a ParseError for /etc/caamtab line 2", c.in, err)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "/etc/caamtab line 2: ") {
			t.Errorf("%q: error %q, want it to contain %q", c.in, err, c.want)
		}
	}
}

func TestParseDuplicateName(t *testing.T) {
	_, err := Parse(strings.NewReader("data /dev/a\n\nother /dev/b\ndata /dev/c\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || !strings.Contains(err.Error(), "already used on line 1") {
		t.Fatalf("err %v", err)
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "caamtab"))
	if !errors.Is(err, fail.ErrNotFound) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err %v", err)
	}
}

func TestParseEmpty(t *testing.T) {
	es, err := Parse(strings.NewReader("\n# nothing\n   \n"))
	if err != nil || len(es) != 0 {
		t.Fatalf("%v %v", es, err)
	}
}
