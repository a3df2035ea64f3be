package fail

import (
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	other := errors.New("disk on fire")
	cases := []struct {
		err  error
		want int
	}{
		{nil, ExitOK},
		{other, ExitFailure},
		{fmt.Errorf("flag --size: %w", ErrUsage), ExitUsage},
		{fmt.Errorf("open: %w", fmt.Errorf("%w: no /dev/caam-keygen", ErrNotReady)), ExitNotReady},
		{fmt.Errorf("%w: blob exists", ErrRefused), ExitRefused},
		{fmt.Errorf("%w: integrity check failed: %w", ErrWrongKey, other), ExitWrongKey},
		{fmt.Errorf("%w: volume data", ErrNotFound), ExitNotFound},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
