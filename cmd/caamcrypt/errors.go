package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// exitCodeHelp is appended to the top-level help: the exit codes are part of
// the command's interface for init scripts and image tests.
const exitCodeHelp = `
EXIT CODES:
   0  success
   1  failure not covered below
   2  invalid command line or configuration
   3  not supported here: the kernel or device lacks a needed feature
   4  refused: it would overwrite or destroy data, or the object is in use
   5  wrong key: blob from another device, stale or tampered key, blob or header
   6  not found: no such key, volume, mapping or device
`

// userMessage is the text printed for err: its category ("not found",
// "wrong key", ...) once in front, then what failed on which object. The
// category sentinel is wrapped wherever the failure was recognised, often
// deep in a chain of context ("open --all: volume va: not found: ..."), so
// it is taken out of the middle and said first.
func userMessage(err error) string {
	msg := err.Error()
	cat := category(err)
	if cat == nil {
		return msg
	}
	prefix := cat.Error() + ": "
	return prefix + strings.ReplaceAll(msg, prefix, "")
}

// category returns the fail sentinel that decides err's exit code, or nil.
func category(err error) error {
	for _, cat := range []error{fail.ErrUsage, fail.ErrNotReady, fail.ErrRefused, fail.ErrWrongKey, fail.ErrNotFound} {
		if fail.ExitCode(err) == fail.ExitCode(cat) {
			return cat
		}
	}
	return nil
}

// usageError turns a flag parsing error of urfave/cli into a usage error.
func usageError(_ *cli.Context, err error, _ bool) error {
	return fmt.Errorf("%w: %w", fail.ErrUsage, err)
}

// classify adds a failure category to errors of packages that know nothing
// of package fail (caamc, dm), so they get the right exit code; errors of
// the orchestration packages already wrap the category where they are made.
// run calls it once, then prints userMessage and exits with fail.ExitCode.
func classify(err error) error {
	if err == nil || fail.ExitCode(err) != fail.ExitFailure {
		// Nil, or already in a category: the innermost decision stands.
		return err
	}
	for _, r := range classRules {
		if errors.Is(err, r.cause) {
			return fmt.Errorf("%w: %w", r.class, err)
		}
	}
	return err
}

// classRule says that errors wrapping cause belong to class.
type classRule struct {
	cause, class error
}

// classRules put the errors of packages that know nothing of package fail
// into its categories: the one place besides fail.ExitCode that decides
// exit codes.
var classRules = []classRule{
	// No CAAM keygen device, or a binary built without cgo or not for
	// Linux: "not supported here", like a kernel without the driver.
	{caamc.ErrNoDevice, fail.ErrNotReady},
	{errors.ErrUnsupported, fail.ErrNotReady},
	{dm.ErrUnsupported, fail.ErrNotReady},
	// libdevmapper could not reach the kernel: no dm-mod, no control node.
	{dm.ErrLibrary, fail.ErrNotReady},
	// Bad sizes, modes and files given on the command line.
	{caamc.ErrKeySize, fail.ErrUsage},
	{caamc.ErrBadTag, fail.ErrUsage},
	{caamc.ErrBadEncryption, fail.ErrUsage},
	{caamc.ErrBadPlaintext, fail.ErrUsage},
	// A mapping of that name exists already.
	{dm.ErrExists, fail.ErrRefused},
}
