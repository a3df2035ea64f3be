// Package reliability turns the figure lines that the reliability tests
// print into one table: crash states replayed and their violations, power
// cuts and volumes lost, I/O-error cases, bad inputs, fuzz executions.
//
// A test reports a figure with one line on stdout, anywhere in `go test -v`
// output:
//
//	@@RELIABILITY|<group>|<case>|<tried>|<bad>
//
// Lines with the same group and case are added up (several runs or
// flavours). Groups the table knows get a heading and column names; any
// other group is shown with generic ones.
package reliability

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Prefix starts a figure line.
const Prefix = "@@RELIABILITY|"

// Row is one case of a group.
type Row struct {
	Case       string
	Tried, Bad int
}

// Group is the rows of one group, in the order first seen.
type Group struct {
	Name string
	Rows []Row
}

// groupInfo is how a known group is shown.
type groupInfo struct {
	title, tried, bad string
	order             int
}

var known = map[string]groupInfo{
	"crash-states":         {"Crash states replayed (dm-log-writes), per operation", "states", "violations", 0},
	"crash-violations":     {"Crash-state violations, per operation and invariant", "of states", "violations", 1},
	"crash-volumes-opened": {"Replayed volume states opened in the guest", "opened", "failed", 2},
	"crash-joint":          {"Crash states of key disk and volume together (one log), per operation", "states", "violations", 3},
	"power-cuts":           {"Hard power cuts (QEMU killed), per operation", "cuts", "volumes lost", 4},
	"io-errors":            {"I/O errors under dm-flakey / dm-error", "cases", "hung or unclean", 5},
	"bad-inputs":           {"Bad inputs", "tried", "not refused cleanly", 6},
	"fuzz":                 {"Fuzzing, per target", "executions", "failures", 7},
	"signals":              {"Signals (SIGINT/SIGTERM) at many points", "tried", "bad", 8},
	"kill-points":          {"kill -9 at named points", "tried", "bad", 9},
	"hostile-env":          {"Minimal and hostile environments", "tried", "bad", 10},
	// In-place encrypt/reencrypt/decrypt (issue 12): crash states resumed
	// and checked file by file; QEMU killed mid-operation, then resumed.
	"inplace-crash":            {"In-place crash states replayed and resumed (dm-log-writes), per operation", "states", "states with a violation", 11},
	"inplace-crash-violations": {"In-place crash-state violations, per operation and invariant", "of states", "violations", 12},
	"inplace-powercut":         {"In-place hard power cuts (QEMU killed), per operation", "cuts", "file systems lost", 13},
}

// Parse reads figure lines from r; other lines are ignored. A malformed
// figure line is an error, so a test cannot print figures nobody counts.
func Parse(r io.Reader) ([]Group, error) {
	var groups []*Group
	byName := map[string]*Group{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	line := 0
	for sc.Scan() {
		line++
		s := sc.Text()
		i := strings.Index(s, Prefix)
		if i < 0 {
			continue
		}
		f := strings.Split(strings.TrimSpace(s[i+len(Prefix):]), "|")
		if len(f) != 4 || f[0] == "" || f[1] == "" {
			return nil, fmt.Errorf("line %d: malformed figure %q (want %s<group>|<case>|<tried>|<bad>)", line, s[i:], Prefix)
		}
		tried, err1 := strconv.Atoi(f[2])
		bad, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || tried < 0 || bad < 0 {
			return nil, fmt.Errorf("line %d: figure %q: counts must be non-negative integers", line, s[i:])
		}
		g := byName[f[0]]
		if g == nil {
			g = &Group{Name: f[0]}
			byName[f[0]] = g
			groups = append(groups, g)
		}
		found := false
		for k := range g.Rows {
			if g.Rows[k].Case == f[1] {
				g.Rows[k].Tried += tried
				g.Rows[k].Bad += bad
				found = true
			}
		}
		if !found {
			g.Rows = append(g.Rows, Row{Case: f[1], Tried: tried, Bad: bad})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(groups, func(a, b int) bool { return rank(groups[a].Name) < rank(groups[b].Name) })
	out := make([]Group, len(groups))
	for i, g := range groups {
		out[i] = *g
	}
	return out, nil
}

func rank(name string) int {
	if gi, ok := known[name]; ok {
		return gi.order
	}
	return 100
}

// Render writes the table as Markdown (it is quoted in the README) and
// returns the total of bad outcomes over the groups that count failures
// (crash-violations repeats crash-states in detail and is not added again).
func Render(w io.Writer, groups []Group) int {
	totalBad := 0
	fmt.Fprintln(w, "| group | case | tried | bad |")
	fmt.Fprintln(w, "|---|---|---:|---:|")
	for _, g := range groups {
		gi, ok := known[g.Name]
		if !ok {
			gi = groupInfo{title: g.Name, tried: "tried", bad: "bad"}
		}
		st, sb := 0, 0
		for _, r := range g.Rows {
			st += r.Tried
			sb += r.Bad
		}
		fmt.Fprintf(w, "| **%s** | *all (%s / %s)* | **%d** | **%d** |\n", gi.title, gi.tried, gi.bad, st, sb)
		for _, r := range g.Rows {
			fmt.Fprintf(w, "| | %s | %d | %d |\n", r.Case, r.Tried, r.Bad)
		}
		if g.Name != "crash-violations" && g.Name != "crash-volumes-opened" && g.Name != "inplace-crash-violations" {
			totalBad += sb
		}
	}
	if len(groups) == 0 {
		fmt.Fprintln(w, "| (no figures: no test printed "+Prefix+" lines) | | | |")
	}
	return totalBad
}
