package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// completeCommand is the hidden first argument the shell completion script
// (packaging/completion/caamcrypt.bash) calls: `caamcrypt __complete
// WORD...` with the words typed after the program name, the last one being
// the word to complete (empty for a new word). urfave/cli's own completion
// reads os.Args rather than its arguments and fails on partly typed
// options, so caamcrypt answers from its command definitions itself.
const completeCommand = "__complete"

// complete prints the candidates for the last of words, one a line: option
// names when it starts with "-", else the subcommands of the command the
// earlier words name. After an option that takes a value it prints nothing,
// so the shell completes file names.
func complete(app *cli.App, words []string, w io.Writer) {
	if len(words) == 0 {
		words = []string{""}
	}
	typed, cur := words[:len(words)-1], words[len(words)-1]
	walk := walkArgs(app, typed)
	if n := len(walk.words); n > 0 && walk.words[n-1].valueDue {
		return // the value of an option: a file, a name, a number
	}
	flags, commands, inCommand := walk.flags, walk.commands, walk.found
	if strings.HasPrefix(cur, "-") {
		printOptions(w, flags)
		if inCommand {
			printOptions(w, app.Flags) // global options are accepted after the command too
		}
		fmt.Fprintln(w, "--help")
		return
	}
	for _, c := range commands {
		if !c.Hidden {
			fmt.Fprintln(w, c.Name)
		}
	}
}

func printOptions(w io.Writer, flags []cli.Flag) {
	for _, f := range flags {
		for _, n := range f.Names() {
			if len(n) > 1 {
				fmt.Fprintln(w, "--"+n)
			}
		}
	}
}
