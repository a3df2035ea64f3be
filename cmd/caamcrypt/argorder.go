package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// reorderArgs moves options written after a command's positional arguments
// in front of them. urfave/cli v2 stops reading options at the first
// positional argument, so without this `caamcrypt key create NAME --size 32`
// would take "--size" and "32" as two more names; field engineers type
// options last as often as first.
//
// Only the arguments of the deepest command named are reordered; "--" ends
// option parsing as usual.
func reorderArgs(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	out := []string{args[0]}
	i := 1
	flags := app.Flags
	commands := app.Commands
	found := false
	// Global options, then command and subcommand names.
	for i < len(args) {
		a := args[i]
		if isOption(a) {
			n := optionWidth(flags, args[i:])
			out = append(out, args[i:i+n]...)
			i += n
			continue
		}
		cmd := findCommand(commands, a)
		if cmd == nil {
			break
		}
		found = true
		out = append(out, a)
		i++
		flags, commands = cmd.Flags, cmd.Subcommands
	}
	if !found {
		return args // an unknown command: let the parser report it as written
	}
	var opts, positional []string
	for i < len(args) {
		a := args[i]
		switch {
		case a == "--":
			positional = append(positional, args[i:]...)
			i = len(args)
		case isOption(a):
			n := optionWidth(flags, args[i:])
			opts = append(opts, args[i:i+n]...)
			i += n
		default:
			positional = append(positional, a)
			i++
		}
	}
	return append(append(out, opts...), positional...)
}

func isOption(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// optionWidth is 2 when args[0] is an option that takes its value from the
// next argument, else 1.
func optionWidth(flags []cli.Flag, args []string) int {
	name := strings.TrimLeft(args[0], "-")
	if strings.Contains(name, "=") || len(args) < 2 {
		return 1
	}
	for _, f := range flags {
		for _, n := range f.Names() {
			if n != name {
				continue
			}
			if v, ok := f.(cli.DocGenerationFlag); ok && v.TakesValue() {
				return 2
			}
			return 1
		}
	}
	return 1
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
