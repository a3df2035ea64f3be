package main

import "github.com/urfave/cli/v2"

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
	w := walkArgs(app, args[1:])
	if !w.found {
		return args // an unknown command: let the parser report it as written
	}
	last := 0 // index of the deepest command's word
	for i, word := range w.words {
		if word.kind == wordCommand {
			last = i
		}
	}
	// before: options and names up to the deepest command, with the first
	// command's position kept for the moved global options.
	var before, globals, opts, positional []string
	cmdAt := -1
	for i, word := range w.words {
		switch {
		case word.kind == wordGlobal:
			globals = append(globals, word.args...)
		case i <= last:
			if word.kind == wordCommand && cmdAt < 0 {
				cmdAt = len(before)
			}
			before = append(before, word.args...)
		case word.kind == wordOption:
			opts = append(opts, word.args...)
		default:
			positional = append(positional, word.args...)
		}
	}
	// Moved global options go after those written before the command, so
	// one given twice keeps its last value, as written.
	out := append([]string{args[0]}, before[:cmdAt]...)
	out = append(append(out, globals...), before[cmdAt:]...)
	return append(append(out, opts...), positional...)
}

// unknownCommand returns the first word of args that stands where a command
// or subcommand name must be and names none, or "" if there is none.
// urfave/cli would answer such a word with its help text and exit code 3,
// which the exit-code contract gives to "not supported here".
func unknownCommand(app *cli.App, args []string) string {
	if len(args) < 2 {
		return ""
	}
	for _, word := range walkArgs(app, args[1:]).words {
		if word.kind == wordUnknown {
			return word.args[0]
		}
	}
	return ""
}
