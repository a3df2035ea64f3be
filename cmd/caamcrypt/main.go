// Command caamcrypt manages encrypted storage on NXP i.MX devices: CAAM
// black keys and their blobs, the kernel keyring, dm-crypt mappings,
// filesystems and mounts, in one tool that refuses to lose data.
//
// The commands only parse flags, call one function of an orchestration
// package and map its error to a message and an exit code (errors.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/inplace"
)

// version is set at link time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// Before anything reads a key: see hardenProcess. Not in run, which
	// tests call in-process.
	hardenNotes = hardenProcess()
	hardened = true
	ctx, stop := signalContext(os.Stderr)
	code := runContext(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// hardened is set when main hardened the process; hardenNotes says what
// could not be done. setupGlobals logs both once the log level is known.
var (
	hardened    bool
	hardenNotes []string
)

// run executes one command line and returns the process exit code. It never
// calls os.Exit itself, so tests can drive the whole CLI.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runContext(context.Background(), args, stdin, stdout, stderr)
}

// runContext is run with the context the operations stop on (cancelled by
// SIGINT/SIGTERM in main). A command that failed after a signal exits
// with 128+signal; its rollback has run by then.
func runContext(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	if len(args) > 1 && args[1] == completeCommand {
		complete(app, args[2:], stdout)
		return 0
	}
	var err error
	if name := unknownCommand(app, args); name != "" {
		err = fmt.Errorf("%w: unknown command %q (caamcrypt help lists the commands)", fail.ErrUsage, name)
	} else {
		err = app.RunContext(ctx, reorderArgs(app, args))
	}
	err = classify(err)
	if code, ok := interruptedExit(ctx, err); ok {
		if errors.Is(err, inplace.ErrStopped) { // an in-place transition keeps its progress
			fmt.Fprintf(stderr, "caamcrypt: %s\n", userMessage(err))
			return code
		}
		fmt.Fprintf(stderr, "caamcrypt: %s (what it had made was rolled back)\n", userMessage(err))
		return code
	}
	if err != nil {
		fmt.Fprintf(stderr, "caamcrypt: %s\n", userMessage(err))
	}
	return fail.ExitCode(err)
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:    "caamcrypt",
		Usage:   "encrypted storage with CAAM black keys on NXP i.MX",
		Version: version,
		Description: "caamcrypt creates CAAM black keys and blobs, loads them into the kernel keyring,\n" +
			"maps dm-crypt volumes with the tk() ciphers, makes filesystems and mounts them,\n" +
			"and unlocks them at boot from the blob alone. It never overwrites a key or blob\n" +
			"and never formats a device that holds data unless forced.",
		Reader:                 stdin,
		Writer:                 stdout,
		ErrWriter:              stderr,
		Flags:                  globalFlags(),
		Before:                 setupGlobals,
		UseShortOptionHandling: true,
		// Errors are printed and mapped to exit codes by run, in one place.
		ExitErrHandler:        func(*cli.Context, error) {},
		OnUsageError:          usageError,
		CustomAppHelpTemplate: cli.AppHelpTemplate + exitCodeHelp,
	}
	app.Commands = append(app.Commands, keyCommands()...)
	app.Commands = append(app.Commands, volumeCommands()...)
	app.Commands = append(app.Commands, inplaceCommands()...)
	app.Commands = append(app.Commands, doctorCommand())
	for _, c := range app.Commands {
		finishCommand(c)
	}
	return app
}

// finishCommand makes every (sub)command report flag errors as usage errors
// (exit code 2) the same way the top level does, and drops the
// "(default: false)" urfave/cli would print after every switch.
func finishCommand(c *cli.Command) {
	if c.OnUsageError == nil {
		c.OnUsageError = usageError
	}
	for _, f := range c.Flags {
		if b, ok := f.(*cli.BoolFlag); ok {
			b.DisableDefaultText = true
		}
	}
	for _, s := range c.Subcommands {
		finishCommand(s)
	}
}
