package reliability

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseSumsAndOrders(t *testing.T) {
	in := `=== RUN   TestX
@@RELIABILITY|fuzz|FuzzHeader|1000|0
noise @@RELIABILITY|crash-states|format|120|3
@@RELIABILITY|crash-states|format|30|1
@@RELIABILITY|crash-states|open|10|0
@@RELIABILITY|mystery|thing|2|1
--- PASS: TestX
`
	gs, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 3 || gs[0].Name != "crash-states" || gs[1].Name != "fuzz" || gs[2].Name != "mystery" {
		t.Fatalf("groups %+v", gs)
	}
	if r := gs[0].Rows[0]; r.Case != "format" || r.Tried != 150 || r.Bad != 4 {
		t.Fatalf("format row %+v", r)
	}
	var out bytes.Buffer
	if bad := Render(&out, gs); bad != 5 {
		t.Fatalf("total bad %d, want 5", bad)
	}
	for _, want := range []string{"| **Crash states replayed (dm-log-writes), per operation** | *all (states / violations)* | **160** | **4** |",
		"| | open | 10 | 0 |", "| **mystery** |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	for _, in := range []string{"@@RELIABILITY|a|b|1", "@@RELIABILITY|a|b|x|0", "@@RELIABILITY||b|1|0", "@@RELIABILITY|a|b|1|-1"} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("%q parsed", in)
		}
	}
}
