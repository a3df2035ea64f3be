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
// Global options (--config, --key-dir, ...) written after the command are
// moved in front of it, where urfave/cli looks for them: `caamcrypt open X
// --config /y` means what `caamcrypt --config /y open X` means. An option
// the command defines itself stays the command's.
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
	cmdAt := 0 // where the first command name stands in out
	var globals []string
	// isGlobal: an option after a command name that the command does not
	// define and the application does.
	isGlobal := func(a string) bool {
		return found && findFlag(flags, a) == nil && findFlag(app.Flags, a) != nil
	}
	// Global options, then command and subcommand names.
	for i < len(args) {
		a := args[i]
		if isOption(a) && isGlobal(a) {
			n := optionWidth(app.Flags, args[i:])
			globals = append(globals, args[i:i+n]...)
			i += n
			continue
		}
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
		if !found {
			cmdAt = len(out)
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
		case isOption(a) && isGlobal(a):
			n := optionWidth(app.Flags, args[i:])
			globals = append(globals, args[i:i+n]...)
			i += n
		case isOption(a):
			n := optionWidth(flags, args[i:])
			opts = append(opts, args[i:i+n]...)
			i += n
		default:
			positional = append(positional, a)
			i++
		}
	}
	// Moved global options go after those written before the command, so
	// one given twice keeps its last value, as written.
	reordered := append(append([]string{}, out[:cmdAt]...), globals...)
	reordered = append(reordered, out[cmdAt:]...)
	return append(append(reordered, opts...), positional...)
}

// unknownCommand returns the first word of args that stands where a command
// or subcommand name must be and names none, or "" if there is none.
// urfave/cli would answer such a word with its help text and exit code 3,
// which the exit-code contract gives to "not supported here".
func unknownCommand(app *cli.App, args []string) string {
	flags, commands := app.Flags, app.Commands
	for i := 1; i < len(args); {
		a := args[i]
		if a == "--" {
			return ""
		}
		if isOption(a) {
			i += optionWidth(flags, args[i:])
			continue
		}
		if len(commands) == 0 {
			return ""
		}
		cmd := findCommand(commands, a)
		if cmd == nil && (a == "help" || a == "h") {
			// "help TOPIC": the topic must name a command at this level.
			if i+1 < len(args) && !isOption(args[i+1]) && findCommand(commands, args[i+1]) == nil {
				return args[i+1]
			}
			return ""
		}
		if cmd == nil {
			return a
		}
		flags, commands = cmd.Flags, cmd.Subcommands
		i++
	}
	return ""
}

func isOption(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// optionWidth is 2 when args[0] is an option that takes its value from the
// next argument, else 1.
func optionWidth(flags []cli.Flag, args []string) int {
	if strings.Contains(args[0], "=") || len(args) < 2 {
		return 1
	}
	if v, ok := findFlag(flags, args[0]).(cli.DocGenerationFlag); ok && v.TakesValue() {
		return 2
	}
	return 1
}

// findFlag returns the flag of flags that option ("--name", "-n" or
// "--name=value") names, or nil.
func findFlag(flags []cli.Flag, option string) cli.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(option, "-"), "=")
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func findCommand(cmds []*cli.Command, name string) *cli.Command {
	for _, c := range cmds {
		if c.HasName(name) {
			return c
		}
	}
	return nil
}
