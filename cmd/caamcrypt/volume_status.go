package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/volume"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:      "status",
		Usage:     "show open volumes: device, type, cipher, sector size, mounts, whether the key is in the keyring",
		ArgsUsage: "[NAME]",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action:    statusAction,
	}
}

func statusAction(c *cli.Context) error {
	if c.NArg() > 1 {
		return fmt.Errorf("%w: status takes at most one volume name", fail.ErrUsage)
	}
	st, err := newVolumeManager(c).Status(ctx(c), c.Args().First())
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, st)
	}
	if len(st) == 0 {
		fmt.Fprintln(c.App.Writer, "no caamcrypt volume is open")
		return nil
	}
	for i, s := range st {
		if i > 0 {
			fmt.Fprintln(c.App.Writer)
		}
		printStatus(c.App.Writer, s)
	}
	return nil
}

// printStatus writes one volume in the shape of `cryptsetup status`, which
// field engineers know: a first line saying whether it is active and in
// use, then one "field: value" line each. Sizes are in 512-byte sectors
// there; here both sectors and bytes are shown.
func printStatus(w io.Writer, s volume.Status) {
	use := "."
	if s.OpenCount > 0 {
		use = " and is in use."
	}
	fmt.Fprintf(w, "%s is active%s\n", s.Node, use)
	typ := s.Type
	if typ == "" {
		typ = "foreign (a dm-crypt mapping caamcrypt did not make)"
	}
	key := "unlinked from the keyring (dm-crypt holds its copy)"
	if s.KeyInKeyring {
		key = "in the kernel keyring"
	}
	mode := "read/write"
	if s.ReadOnly {
		mode = "readonly"
	}
	if s.Suspended {
		mode += ", suspended"
	}
	mounts := strings.Join(s.MountPoints, ", ")
	if mounts == "" {
		mounts = "not mounted"
	}
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for _, f := range [][2]string{
		{"type", typ},
		{"cipher", s.Cipher},
		{"keysize", fmt.Sprintf("%d bytes (tagged black key)", s.KeySize)},
		{"key", key},
		{"device", s.Device},
		{"sector size", fmt.Sprint(s.SectorSize)},
		{"offset", fmt.Sprintf("%d sectors (%s)", s.PayloadOffset/512, humanBytes(s.PayloadOffset))},
		{"size", fmt.Sprintf("%d sectors (%s)", s.Size/512, humanBytes(s.Size))},
		{"mode", mode},
		{"mounted on", mounts},
	} {
		fmt.Fprintf(tw, "  %s:\t%s\n", f[0], f[1])
	}
	tw.Flush()
}

func headerCommand() *cli.Command {
	return &cli.Command{
		Name:  "header",
		Usage: "back up, restore, repair and show the header of a caamcrypt volume",
		Subcommands: []*cli.Command{
			{
				Name:      "backup",
				Usage:     "copy the header (with the blob) to a new FILE (0600, never overwritten)",
				ArgsUsage: "DEVICE FILE",
				Action: func(c *cli.Context) error {
					a, err := args(c, "DEVICE", "FILE")
					if err != nil {
						return err
					}
					h, err := newVolumeManager(c).HeaderBackup(deviceArg(a[0]), a[1])
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "header of %s (UUID %s) saved to %s\n", a[0], h.UUID, a[1])
					return nil
				},
			},
			{
				Name:      "restore",
				Usage:     "write a header backup to DEVICE (refused over another valid header, or over data on a device without one, unless --force)",
				ArgsUsage: "DEVICE FILE",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "force", Usage: "replace a valid header that differs from the backup, or write over a headerless device that holds data"}},
				Action: func(c *cli.Context) error {
					a, err := args(c, "DEVICE", "FILE")
					if err != nil {
						return err
					}
					h, err := newVolumeManager(c).HeaderRestore(deviceArg(a[0]), a[1], c.Bool("force"))
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "header of volume %s restored to %s\n", h.UUID, a[0])
					return nil
				},
			},
			{
				Name: "repair",
				Usage: "rewrite a damaged or differing header copy from the good one (open does it too, " +
					"except read-only); nothing is written when both copies are good, refused (exit 5) when both are damaged",
				ArgsUsage: "DEVICE",
				Action:    headerRepairAction,
			},
			{
				Name:      "dump",
				Usage:     "show the header fields (the blob only as length and fingerprint)",
				ArgsUsage: "DEVICE",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action:    headerDumpAction,
			},
		},
	}
}

// headerDumpJSON is the JSON form of header dump: the fields and which
// copies were valid.
type headerDumpJSON struct {
	header.Info
	CopyAValid bool `json:"copy_a_valid"`
	CopyBValid bool `json:"copy_b_valid"`
}

func headerDumpAction(c *cli.Context) error {
	a, err := args(c, "DEVICE")
	if err != nil {
		return err
	}
	info, rep, err := newVolumeManager(c).HeaderDump(deviceArg(a[0]))
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, headerDumpJSON{Info: info, CopyAValid: rep.Copies[0].Valid, CopyBValid: rep.Copies[1].Valid})
	}
	fmt.Fprint(c.App.Writer, info.String())
	for i, cs := range rep.Copies {
		state := "valid"
		if !cs.Valid {
			state = fmt.Sprintf("DAMAGED (%v)", cs.Err)
		}
		fmt.Fprintf(c.App.Writer, "%-15s %s\n", fmt.Sprintf("Copy %c:", 'A'+i), state)
	}
	return nil
}

// writeJSON prints v as indented JSON: the --json output of every command.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// humanBytes renders a size in binary units.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func headerRepairAction(c *cli.Context) error {
	a, err := args(c, "DEVICE")
	if err != nil {
		return err
	}
	res, err := newVolumeManager(c).HeaderRepair(ctx(c), deviceArg(a[0]))
	if err != nil {
		return err
	}
	if !res.Repaired {
		fmt.Fprintf(c.App.Writer, "header of %s (UUID %s): both copies good, nothing written\n", a[0], res.UUID)
		return nil
	}
	fmt.Fprintf(c.App.Writer, "header of %s (UUID %s) repaired: %s\n", a[0], res.UUID, res.Found)
	return nil
}
