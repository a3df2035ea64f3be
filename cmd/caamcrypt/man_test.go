package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// manPath is the committed manual page; `make man` rewrites it with
// go test ./cmd/caamcrypt -run TestManPage -update-man.
const manPath = "../../docs/caamcrypt.8"

var updateMan = flag.Bool("update-man", false, "rewrite "+manPath+" from the command definitions")

// TestManPage keeps the committed manual page equal to what the command
// definitions give, and checks that man(1)'s formatter accepts it.
func TestManPage(t *testing.T) {
	app := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	var page bytes.Buffer
	if err := writeManPage(&page, app); err != nil {
		t.Fatal(err)
	}
	if *updateMan {
		if err := os.WriteFile(manPath, page.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	committed, err := os.ReadFile(manPath)
	if err != nil {
		t.Fatalf("%v (make man writes it)", err)
	}
	if !bytes.Equal(committed, page.Bytes()) {
		t.Fatalf("%s differs from the command definitions: run make man and commit it", manPath)
	}
	for _, want := range []string{".SH EXIT STATUS", ".SS key create NAME", `\fB\-\-sector\-size\fR \fIN\fR`, ".SS open DEVICE|NAME | \\-\\-all"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("manual page lacks %q", want)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff not installed: the page's roff is not checked")
	}
	cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
	cmd.Stdin = bytes.NewReader(page.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff warns about the page: %v\n%s", err, out)
	}
}
