package volume

import (
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"
)

// undoStack records how to reverse each step of a multi-step operation.
// On failure run executes the steps in reverse order; on success the
// operation calls release and nothing is undone.
type undoStack struct {
	log   *logrus.Entry
	steps []undoStep
}

type undoStep struct {
	what string
	fn   func() error
}

// push records fn as the undo of the step just done; what names it in logs
// and in the error when the undo itself fails.
func (u *undoStack) push(what string, fn func() error) {
	u.steps = append(u.steps, undoStep{what, fn})
}

// drop forgets the most recent undo step whose name is what: used when a
// later step already reversed it (e.g. the key was unlinked on success).
func (u *undoStack) drop(what string) {
	for i := len(u.steps) - 1; i >= 0; i-- {
		if u.steps[i].what == what {
			u.steps = append(u.steps[:i], u.steps[i+1:]...)
			return
		}
	}
}

// release forgets every step: the operation succeeded.
func (u *undoStack) release() { u.steps = nil }

// settle ends an operation whose result error *errp names: it rolls back
// (run) when the operation failed, else releases. Deferred right after the
// stack is made: `defer u.settle(&err)` with err the named result.
func (u *undoStack) settle(errp *error) {
	if *errp != nil {
		*errp = u.run(*errp)
		return
	}
	u.release()
}

// run undoes every recorded step, newest first, and returns cause joined
// with any undo failures (those leave something behind and the user must
// know what).
func (u *undoStack) run(cause error) error {
	var failed []error
	for i := len(u.steps) - 1; i >= 0; i-- {
		s := u.steps[i]
		u.log.WithField("undo", s.what).Debug("rolling back")
		if err := s.fn(); err != nil {
			u.log.WithError(err).WithField("undo", s.what).Warn("rollback step failed")
			failed = append(failed, fmt.Errorf("rollback: %s: %w", s.what, err))
		}
	}
	u.steps = nil
	if len(failed) == 0 {
		return cause
	}
	return errors.Join(append([]error{cause}, failed...)...)
}
