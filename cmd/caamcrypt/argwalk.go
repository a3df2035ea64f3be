package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// wordKind is what one word of a command line is to caamcrypt.
type wordKind int

const (
	wordOption     wordKind = iota // an option of the command named so far (of the application before any)
	wordGlobal                     // an application option written after a command that does not define it
	wordCommand                    // a command or subcommand name
	wordHelp                       // "help" or "h" where a command name may stand
	wordUnknown                    // where a command name must stand, naming none
	wordPositional                 // an argument of the command
	wordEnd                        // "--" and everything after it
)

// argWord is one word of a command line, or two for an option that takes
// its value from the next argument.
type argWord struct {
	kind wordKind
	args []string
	cmd  *cli.Command // wordCommand: the command named
	// valueDue: an option that takes a value, written last without one
	// (completion then offers nothing, so the shell completes a file name).
	valueDue bool
}

// argWalk is a command line read the way urfave/cli will read it once
// reorderArgs has moved the options: the words in order, and the options and
// subcommands of the deepest command named.
type argWalk struct {
	words    []argWord
	flags    []cli.Flag
	commands []*cli.Command
	found    bool // a command was named
}

// walkArgs reads args (without the program name). reorderArgs,
// unknownCommand and complete all read command lines through it, so the
// three agree on which word is an option, an option's value, a command name
// or an argument.
func walkArgs(app *cli.App, args []string) argWalk {
	w := argWalk{flags: app.Flags, commands: app.Commands}
	positional := false // an argument was seen: later words are arguments too
	for i := 0; i < len(args); {
		a := args[i]
		word := argWord{kind: wordPositional, args: args[i : i+1]}
		switch {
		case a == "--":
			word = argWord{kind: wordEnd, args: args[i:]}
		case isOption(a):
			flags, kind := w.flags, wordOption
			if w.found && findFlag(w.flags, a) == nil && findFlag(app.Flags, a) != nil {
				flags, kind = app.Flags, wordGlobal
			}
			n := optionWidth(flags, args[i:])
			word = argWord{kind: kind, args: args[i : i+n], valueDue: n == 1 && i == len(args)-1 && takesValue(flags, a)}
		case positional || len(w.commands) == 0:
		case findCommand(w.commands, a) != nil:
			c := findCommand(w.commands, a)
			word = argWord{kind: wordCommand, args: args[i : i+1], cmd: c}
			w.flags, w.commands, w.found = c.Flags, c.Subcommands, true
		case a == "help" || a == "h":
			// "help TOPIC": the topic must name a command at this level.
			word.kind = wordHelp
			if i+1 < len(args) && !isOption(args[i+1]) && findCommand(w.commands, args[i+1]) == nil {
				w.words = append(w.words, word)
				word, i = argWord{kind: wordUnknown, args: args[i+1 : i+2]}, i+1
			}
			positional = true
		default:
			word.kind = wordUnknown
			positional = true
		}
		if word.kind == wordPositional {
			positional = true
		}
		w.words = append(w.words, word)
		i += len(word.args)
	}
	return w
}

func isOption(a string) bool { return len(a) > 1 && a[0] == '-' && a != "--" }

// optionWidth is 2 when args[0] is an option of flags that takes its value
// from the next argument, else 1.
func optionWidth(flags []cli.Flag, args []string) int {
	if len(args) < 2 || !takesValue(flags, args[0]) {
		return 1
	}
	return 2
}

// takesValue reports whether option is one of flags that takes a value and
// is written without "=value".
func takesValue(flags []cli.Flag, option string) bool {
	if strings.Contains(option, "=") {
		return false
	}
	v, ok := findFlag(flags, option).(cli.DocGenerationFlag)
	return ok && v.TakesValue()
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
