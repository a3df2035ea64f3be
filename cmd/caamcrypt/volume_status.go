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
	tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tDEVICE\tSIZE\tSECTOR\tCIPHER\tKEY\tMODE\tMOUNTED ON")
	for _, s := range st {
		key := "unlinked"
		if s.KeyInKeyring {
			key = "in keyring"
		}
		mode := "rw"
		if s.ReadOnly {
			mode = "ro"
		}
		mounts := strings.Join(s.MountPoints, ",")
		if mounts == "" {
			mounts = "-"
		}
		typ := s.Type
		if typ == "" {
			typ = "foreign"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.Name, typ, s.Device, humanBytes(s.Size),
			s.SectorSize, s.Cipher, key, mode, mounts)
	}
	return tw.Flush()
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
