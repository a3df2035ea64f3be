package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

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

// exitCode maps an error to the process exit code. Errors of the lower
// packages are classified into the categories of package fail where they
// are created or wrapped (see classify), so this is the one place the codes
// are decided.
func exitCode(err error) int {
	return fail.ExitCode(classify(err))
}

// userMessage is the text printed for err. Wrapped category sentinels are
// kept in the message only where they add meaning.
func userMessage(err error) string {
	return err.Error()
}

// usageError turns a flag parsing error of urfave/cli into a usage error.
func usageError(_ *cli.Context, err error, _ bool) error {
	return fmt.Errorf("%w: %w", fail.ErrUsage, err)
}

// classify adds a failure category to errors of packages that do not know
// about package fail (caamc, dm), so their errors get the right exit code.
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

// classRules is filled by the files that know the lower packages' errors.
var classRules []classRule
