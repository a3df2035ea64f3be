package main

import (
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/caamcrypt/caamcrypt/internal/caamtab"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/volume"
)

// allAction runs open --all (open true) or close --all over the volume table.
func allAction(c *cli.Context, open bool) error {
	if c.NArg() != 0 {
		return fmt.Errorf("%w: --all takes no arguments", fail.ErrUsage)
	}
	entries, err := caamtab.ParseFile(c.String("config"))
	if err != nil {
		return err
	}
	m := newVolumeManager(c)
	var out []volume.Outcome
	if open {
		out, err = m.OpenAll(ctx(c), entries)
	} else {
		out, err = m.CloseAll(ctx(c), entries)
	}
	w := c.App.Writer
	for _, o := range out {
		switch {
		case o.Skipped:
			fmt.Fprintf(w, "%-16s skipped (noauto)\n", o.Name)
		case o.Err != nil && o.NoFail:
			fmt.Fprintf(w, "%-16s FAILED (nofail): %v\n", o.Name, o.Err)
			logrus.WithError(o.Err).WithField("volume", o.Name).Warn("nofail volume failed")
		case o.Err != nil:
			fmt.Fprintf(w, "%-16s FAILED: %v\n", o.Name, o.Err)
		case open && o.Volume.MountPoint != "":
			fmt.Fprintf(w, "%-16s open at %s, mounted on %s\n", o.Name, o.Volume.Node, o.Volume.MountPoint)
		case open:
			fmt.Fprintf(w, "%-16s open at %s\n", o.Name, o.Volume.Node)
		default:
			fmt.Fprintf(w, "%-16s closed\n", o.Name)
		}
	}
	return err
}
