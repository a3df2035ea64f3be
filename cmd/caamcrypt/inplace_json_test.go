package main

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/volume"
)

// docTables returns the field names of each table of the docs/json.md
// section that starts with heading.
func docTables(t *testing.T, heading string) [][]string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/json.md")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(doc), heading)
	if i < 0 {
		t.Fatalf("docs/json.md has no section %q", heading)
	}
	section := string(doc)[i:]
	if j := strings.Index(section[3:], "\n## "); j >= 0 {
		section = section[:j+3]
	}
	var tables [][]string
	for _, tb := range strings.Split(section, "| field |")[1:] {
		var fields []string
		for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(tb, -1) {
			fields = append(fields, m[1])
		}
		sort.Strings(fields)
		tables = append(tables, fields)
	}
	return tables
}

// jsonFields is the sorted field names of v marshalled.
func jsonFields(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	sort.Strings(got)
	return got
}

// The progress lines and the result of the transitions have exactly the
// fields docs/json.md documents.
func TestTransitionJSONMatchesDocs(t *testing.T) {
	tables := docTables(t, "## `caamcrypt encrypt|reencrypt|decrypt")
	if len(tables) != 2 {
		t.Fatalf("want 2 tables (progress, result), found %d", len(tables))
	}
	full := volume.TransitionResult{Op: "encrypt", UUID: "u", Label: "l", Key: "k", EstimateSeconds: 1, Notes: []string{"n"}}
	for i, v := range []any{progressLine{}, full} {
		if got := jsonFields(t, v); strings.Join(got, " ") != strings.Join(tables[i], " ") {
			t.Errorf("JSON fields\n  %v\ndocumented\n  %v", got, tables[i])
		}
	}
}
