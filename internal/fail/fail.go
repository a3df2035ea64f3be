// Package fail names the few kinds of failure caamcrypt reports to its
// caller, each with its own process exit code, so scripts, init systems and
// image tests can tell "not ready" from "refused to destroy data" from
// "wrong key" without parsing messages.
//
// Packages wrap one of these sentinels into their own errors
// (fmt.Errorf("%w: blob %s exists", fail.ErrRefused, path)); the CLI maps
// the first one it finds to an exit code in one place.
package fail

import "errors"

// Exit codes of the caamcrypt command. They are part of its interface.
const (
	ExitOK       = 0 // success
	ExitFailure  = 1 // any other failure
	ExitUsage    = 2 // bad command line or configuration
	ExitNotReady = 3 // the kernel or device lacks a needed feature
	ExitRefused  = 4 // refused: it would overwrite or destroy data, or the object is in use
	ExitWrongKey = 5 // the key does not fit: wrong device, stale or tampered key or blob
	ExitNotFound = 6 // a named key, volume, mapping or device does not exist
)

// Failure categories. Wrap them; test with errors.Is.
var (
	ErrUsage    = errors.New("invalid usage")
	ErrNotReady = errors.New("not supported here")
	ErrRefused  = errors.New("refused")
	ErrWrongKey = errors.New("wrong key")
	ErrNotFound = errors.New("not found")
)

// ExitCode returns the exit code for err: 0 for nil, the category's code
// when err wraps one of the sentinels above, otherwise ExitFailure.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrUsage):
		return ExitUsage
	case errors.Is(err, ErrNotReady):
		return ExitNotReady
	case errors.Is(err, ErrRefused):
		return ExitRefused
	case errors.Is(err, ErrWrongKey):
		return ExitWrongKey
	case errors.Is(err, ErrNotFound):
		return ExitNotFound
	}
	return ExitFailure
}
