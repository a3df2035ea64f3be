package volume

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

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

// OpenAll opens every entry that is not noauto, like systemd's
// cryptsetup units at boot: one failing volume does not stop the others.
// The error is nil when every failure was on a nofail entry; otherwise it
// counts the failures and wraps the first one in table order, whose
// category decides the exit code. Outcomes are in table order.
//
// Independent entries open concurrently, at most OpenAllParallel at once:
// each volume's open is mostly waiting (the CAAM's blob import, dm-crypt's
// table load, the disk), and a boot with several volumes should not pay
// those waits one after the other. Each open has its own undo stack, so a
// failure rolls back that volume alone. An entry waits for every earlier
// entry it could interfere with (dependsOn): the same name, the same
// device, or mount points inside one another, where the table order is the
// mount order.
func (m *Manager) OpenAll(ctx context.Context, entries []caamtab.Entry) ([]Outcome, error) {
	out := make([]Outcome, len(entries))
	devs := make([]string, len(entries))
	pre := make([]*resolvedSpec, len(entries))
	for i, e := range entries {
		out[i] = Outcome{Name: e.Name, NoFail: e.Options.NoFail, Skipped: e.Options.NoAuto}
		if !out[i].Skipped && e.Device != "" {
			pre[i] = m.resolveEntry(e.Device)
			devs[i] = canonicalPath(e.Device, pre[i])
		}
	}
	done := make([]chan struct{}, len(entries))
	for i := range done {
		done[i] = make(chan struct{})
	}
	slots := make(chan struct{}, OpenAllParallel)
	var wg sync.WaitGroup
	for i, e := range entries {
		if out[i].Skipped {
			close(done[i])
			continue
		}
		var waitFor []chan struct{}
		for j := 0; j < i; j++ {
			if !out[j].Skipped && dependsOn(e, devs[i], entries[j], devs[j]) {
				waitFor = append(waitFor, done[j])
			}
		}
		wg.Add(1)
		go func(i int, e caamtab.Entry) {
			defer wg.Done()
			defer close(done[i])
			for _, c := range waitFor {
				<-c
			}
			slots <- struct{}{}
			defer func() { <-slots }()
			out[i].Volume, out[i].Err = m.open(ctx, OpenOptionsFromEntry(e), pre[i])
		}(i, e)
	}
	wg.Wait()
	return out, summarize("open", out)
}

// OpenAllParallel bounds the opens OpenAll runs at once.
const OpenAllParallel = 4

// resolveEntry resolves an entry's device spec once, for ordering and
// for its open. A plain-typed entry resolves the same way: the header a
// UUID=/LABEL= lookup finds makes its open refuse, as Open does.
func (m *Manager) resolveEntry(spec string) *resolvedSpec {
	dev, found, err := m.resolveHeader(spec)
	return &resolvedSpec{dev: dev, found: found, err: err}
}

// canonicalPath is the resolved device with symlinks resolved, for telling
// entries on the same device apart; a spec that did not resolve (a
// missing disk) is kept as written, and its open reports the failure.
func canonicalPath(spec string, r *resolvedSpec) string {
	if r.err != nil || r.dev == "" {
		return spec
	}
	if p, err := filepath.EvalSymlinks(r.dev); err == nil {
		return p
	}
	return r.dev
}

// dependsOn reports whether entry a (device devA) must wait for the
// earlier entry b: same name, same device (by spec or resolved path), or
// mount points equal or one inside the other.
func dependsOn(a caamtab.Entry, devA string, b caamtab.Entry, devB string) bool {
	if a.Name == b.Name || a.Device == b.Device || devA == devB {
		return true
	}
	ma, mb := a.Options.Mount, b.Options.Mount
	if ma == "" || mb == "" {
		return false
	}
	ma, mb = filepath.Clean(ma), filepath.Clean(mb)
	return ma == mb || strings.HasPrefix(ma, strings.TrimSuffix(mb, "/")+"/") || strings.HasPrefix(mb, strings.TrimSuffix(ma, "/")+"/")
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
