package volume

import (
	"context"
	"fmt"

	"github.com/caamcrypt/caamcrypt/internal/caamtab"
)

// Outcome is what happened to one volume table entry in OpenAll or CloseAll.
type Outcome struct {
	Name    string  `json:"name"`
	Volume  *Volume `json:"volume,omitempty"` // OpenAll only, on success
	Err     error   `json:"-"`
	Skipped bool    `json:"skipped,omitempty"` // noauto entry
	NoFail  bool    `json:"nofail,omitempty"`  // a failure here does not fail the run
}

// OpenOptionsFromEntry turns a volume table line into open options.
func OpenOptionsFromEntry(e caamtab.Entry) OpenOptions {
	return OpenOptions{
		Device: e.Device, Name: e.Name, Key: e.Key, Mount: e.Options.Mount, ReadOnly: e.Options.ReadOnly,
		Type: e.Options.Type, SectorSize: e.Options.SectorSize, Discard: e.Options.Discard, Cipher: e.Options.Cipher,
		KeepKey: e.Options.KeepKey, Keyring: e.Options.Keyring,
	}
}

// OpenAll opens every entry that is not noauto, in table order, like
// systemd's cryptsetup units at boot: one failing volume does not stop the
// others. The error is nil when every failure was on a nofail entry;
// otherwise it counts the failures and wraps the first one, whose category
// decides the exit code.
func (m *Manager) OpenAll(ctx context.Context, entries []caamtab.Entry) ([]Outcome, error) {
	out := make([]Outcome, 0, len(entries))
	for _, e := range entries {
		o := Outcome{Name: e.Name, NoFail: e.Options.NoFail, Skipped: e.Options.NoAuto}
		if !o.Skipped {
			o.Volume, o.Err = m.Open(ctx, OpenOptionsFromEntry(e))
		}
		out = append(out, o)
	}
	return out, summarize("open", out)
}

// CloseAll closes every entry of the table in reverse order (a volume
// mounted inside another closes first), continuing past failures.
func (m *Manager) CloseAll(ctx context.Context, entries []caamtab.Entry) ([]Outcome, error) {
	out := make([]Outcome, 0, len(entries))
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		o := Outcome{Name: e.Name, NoFail: e.Options.NoFail}
		o.Err = m.Close(ctx, CloseOptions{Name: e.Name})
		out = append(out, o)
	}
	return out, summarize("close", out)
}

func summarize(op string, out []Outcome) error {
	var first error
	failed := 0
	for _, o := range out {
		if o.Err != nil && !o.NoFail {
			if first == nil {
				first = fmt.Errorf("%s: %w", o.Name, o.Err)
			}
			failed++
		}
	}
	if first == nil {
		return nil
	}
	return fmt.Errorf("%s --all: %d of %d volumes failed; first: %w", op, failed, len(out), first)
}
