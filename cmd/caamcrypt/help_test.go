package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// walkCommands calls fn for every command and subcommand of app, with its
// full name.
func walkCommands(app *cli.App, fn func(name string, c *cli.Command)) {
	var walk func(prefix string, cs []*cli.Command)
	walk = func(prefix string, cs []*cli.Command) {
		for _, c := range cs {
			fn(prefix+c.Name, c)
			walk(prefix+c.Name+" ", c.Subcommands)
		}
	}
	walk("", app.Commands)
}

// Every option that takes a value names what it takes (NAME, DIR, FILE,
// N, ...) rather than urfave/cli's default placeholder "value".
func TestHelpPlaceholdersNameWhatTheyTake(t *testing.T) {
	app := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	check := func(where string, flags []cli.Flag) {
		for _, f := range flags {
			line := cli.FlagStringer(f)
			if strings.Contains(line, " value") {
				t.Errorf("%s: %q has no placeholder of its own", where, line)
			}
		}
	}
	check("global options", app.Flags)
	walkCommands(app, func(name string, c *cli.Command) { check(name, c.Flags) })
}

// Help is read by field engineers: no words that only mean something inside
// this project, and no switch shown with "(default: false)".
func TestHelpReadsCleanly(t *testing.T) {
	app := newApp(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	pages := [][]string{{"--help"}}
	walkCommands(app, func(name string, _ *cli.Command) {
		pages = append(pages, append(strings.Fields(name), "--help"))
	})
	for _, args := range pages {
		code, out, errs := runCLI(t, "", args...)
		if code != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
			continue
		}
		for _, bad := range []string{"the seed", "seed's", "table load", "(default: false)", "(default: 0)"} {
			if strings.Contains(out, bad) {
				t.Errorf("%v: help says %q:\n%s", args, bad, out)
			}
		}
	}
}
