package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/inplace"
	"github.com/caamcrypt/caamcrypt/internal/volume"
)

// inplaceCommands are the in-place transitions: encrypt, reencrypt, decrypt.
func inplaceCommands() []*cli.Command {
	return []*cli.Command{encryptCommand(), reencryptCommand(), decryptCommand()}
}

// transitionFlags are the flags every transition has.
func transitionFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "dry-run", Usage: "run the checks and say what would be done and how long it should take; write nothing"},
		&cli.BoolFlag{Name: "json", Usage: "print progress as JSON lines and the result as one JSON object"},
	}
}

const resumeNote = "\nAfter an interruption (signal, crash, power cut) run the same command again: it goes on\n" +
	"from the record on the device. Until then every other command refuses the device.\n" +
	"SIGINT and SIGTERM stop after the current chunk (exit 130 or 143)."

func encryptCommand() *cli.Command {
	return &cli.Command{
		Name:      "encrypt",
		Usage:     "encrypt the ext2/3/4 file system on DEVICE in place, keeping every file",
		ArgsUsage: "DEVICE",
		Description: "Makes a new CAAM key and turns the unmounted file system on DEVICE into a caamcrypt\n" +
			"volume: the file system shrinks by 4 MiB and 64 KiB if it must (resize2fs; refused when\n" +
			"the files do not fit), then moves 4 MiB up into the encrypted payload, chunk by chunk.\n" +
			"Refuses a device in use, a file system with errors (run e2fsck -f first) and a\n" +
			"caamcrypt volume. The volume is left closed: caamcrypt open DEVICE." + resumeNote,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "volume `NAME` (the label open names the mapping by)", DefaultText: "the label, else the device's name"},
			&cli.StringFlag{Name: "label", Usage: "volume `LABEL`", DefaultText: "the file system's label, else --name"},
			&cli.StringFlag{Name: "key", Usage: "use key `NAME` of the key directory instead of a new key"},
			&cli.BoolFlag{Name: "save-key", Usage: "also save the new key as files NAME and NAME.bb in the key directory"},
			&cli.StringFlag{Name: "enc", Value: "ecb", Usage: "black key encryption `MODE`: ecb or ccm"},
			&cli.IntFlag{Name: "key-size", Value: volume.DefaultKeySize, Usage: "red key size: `N` bytes (16..64)"},
			&cli.IntFlag{Name: "sector-size", Usage: "dm-crypt sector size: `N` bytes, 512..4096", DefaultText: "4096"},
		}, transitionFlags()...),
		Action: encryptAction,
	}
}

func reencryptCommand() *cli.Command {
	return &cli.Command{
		Name:      "reencrypt",
		Usage:     "give a caamcrypt volume a new key in place",
		ArgsUsage: "NAME|DEVICE",
		Description: "Makes a new CAAM key (or takes --key) and rewrites the closed volume's payload with it,\n" +
			"chunk by chunk, journalling each chunk so a power cut loses nothing. Afterwards the\n" +
			"old key and its blob no longer open the volume. NAME is looked up in the volume table." + resumeNote,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "key", Usage: "new key: key `NAME` of the key directory", DefaultText: "a new CAAM key"},
			&cli.BoolFlag{Name: "save-key", Usage: "also save the new key as files NAME and NAME.bb in the key directory (NAME: the volume name)"},
			&cli.StringFlag{Name: "enc", Value: "ecb", Usage: "new key's black key encryption `MODE`: ecb or ccm"},
			&cli.IntFlag{Name: "key-size", Value: volume.DefaultKeySize, Usage: "new key's red key size: `N` bytes (16..64)"},
		}, transitionFlags()...),
		Action: reencryptAction,
	}
}

func decryptCommand() *cli.Command {
	return &cli.Command{
		Name:      "decrypt",
		Usage:     "turn a caamcrypt volume back into its plain file system in place",
		ArgsUsage: "DEVICE",
		Description: "Opens the closed volume's key and moves the file system 4 MiB (the payload offset) down\n" +
			"out of the encrypted payload, chunk by chunk. It leaves the file system 4 MiB + 64 KiB\n" +
			"smaller than the device; --grow then runs resize2fs to give it the whole device (that\n" +
			"step is resize2fs's own: the transition record no longer covers it, and a power cut\n" +
			"during it needs e2fsck -f -p). A file system that reaches into the device's last 64 KiB\n" +
			"is shrunk first (resize2fs). The header and its blob are gone afterwards." + resumeNote,
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "grow", Usage: "grow the file system to the whole device after the decrypt (resize2fs)"},
		}, transitionFlags()...),
		Action: decryptAction,
	}
}

func encryptAction(c *cli.Context) error {
	a, err := args(c, "DEVICE")
	if err != nil {
		return err
	}
	if err := refuseZeroSizes(c); err != nil {
		return err
	}
	p := newTransitionProgress(c, "encrypting")
	defer p.finish()
	res, err := newVolumeManager(c).Encrypt(ctx(c), volume.EncryptOptions{
		Device: deviceArg(a[0]), Name: c.String("name"), Label: c.String("label"), Key: c.String("key"),
		SaveKey: c.Bool("save-key"), Enc: c.String("enc"), KeySize: c.Int("key-size"), SectorSize: c.Int("sector-size"),
		DryRun: c.Bool("dry-run"), Progress: p.update,
	})
	if err != nil {
		return err
	}
	p.finish()
	return printTransition(c, res)
}

func reencryptAction(c *cli.Context) error {
	a, err := args(c, "NAME|DEVICE")
	if err != nil {
		return err
	}
	dev := a[0]
	if !isDeviceArg(dev) {
		e, err := configEntry(c, dev)
		if err != nil {
			return err
		}
		if e == nil {
			return fmt.Errorf("%w: volume %s is not in the volume table %s: give its device", fail.ErrNotFound, dev, c.String("config"))
		}
		dev = e.Device
	}
	p := newTransitionProgress(c, "reencrypting")
	defer p.finish()
	res, err := newVolumeManager(c).Reencrypt(ctx(c), volume.ReencryptOptions{
		Device: deviceArg(dev), Key: c.String("key"), SaveKey: c.Bool("save-key"), Enc: c.String("enc"),
		KeySize: c.Int("key-size"), DryRun: c.Bool("dry-run"), Progress: p.update,
	})
	if err != nil {
		return err
	}
	p.finish()
	return printTransition(c, res)
}

func decryptAction(c *cli.Context) error {
	a, err := args(c, "DEVICE")
	if err != nil {
		return err
	}
	p := newTransitionProgress(c, "decrypting")
	defer p.finish()
	res, err := newVolumeManager(c).Decrypt(ctx(c), volume.DecryptOptions{
		Device: deviceArg(a[0]), Grow: c.Bool("grow"), DryRun: c.Bool("dry-run"), Progress: p.update,
	})
	if err != nil {
		return err
	}
	p.finish()
	return printTransition(c, res)
}

// printTransition prints the result: one JSON object with --json, else a
// sentence or two.
func printTransition(c *cli.Context, r *volume.TransitionResult) error {
	w := c.App.Writer
	if c.Bool("json") {
		return json.NewEncoder(w).Encode(r)
	}
	if r.DryRun {
		fmt.Fprintf(w, "dry run: %s of %s: file system %d bytes", r.Op, r.Device, r.FSSize)
		if r.GivenUp > 0 {
			fmt.Fprintf(w, " (shrinks by %d bytes from %d)", r.GivenUp, r.FSSizeBefore)
		}
		fmt.Fprintf(w, ", about %s; nothing was written\n", time.Duration(r.EstimateSeconds*float64(time.Second)).Round(100*time.Millisecond))
		for _, n := range r.Notes {
			fmt.Fprintln(w, n)
		}
		return nil
	}
	verb := map[string]string{"encrypt": "encrypted", "decrypt": "decrypted", "reencrypt": "reencrypted"}[r.Op]
	fmt.Fprintf(w, "%s %s", verb, r.Device)
	if r.Resumed {
		fmt.Fprint(w, " (resumed)")
	}
	fmt.Fprintf(w, ": %d bytes in %s", r.FSSize, time.Duration(r.Seconds*float64(time.Second)).Round(100*time.Millisecond))
	if r.UUID != "" && r.Op != "decrypt" {
		fmt.Fprintf(w, "; volume UUID %s, closed: caamcrypt open %s", r.UUID, r.Device)
	}
	fmt.Fprintln(w)
	if r.Key != "" {
		fmt.Fprintf(w, "key files: %s and %s.bb in the key directory\n", r.Key, r.Key)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, n)
	}
	return nil
}

// transitionProgress shows a transition's progress: a bar with rate and
// ETA on a terminal (stderr), JSON lines on stdout with --json, nothing
// otherwise (logs and update agents read the result).
type transitionProgress struct {
	w     io.Writer
	json  *json.Encoder
	op    string
	bar   *progress // the terminal bar of volume_progress.go
	meter inplace.Meter
}

func newTransitionProgress(c *cli.Context, what string) *transitionProgress {
	p := &transitionProgress{w: c.App.ErrWriter, op: c.Command.Name, meter: inplace.Meter{Interval: time.Second}}
	if c.Bool("json") {
		p.json = json.NewEncoder(c.App.Writer)
	} else if isTerminal(p.w) {
		p.bar = newProgress(p.w, what)
	}
	return p
}

// progressLine is one --json progress line (docs/json.md).
type progressLine struct {
	Op      string `json:"op"`
	Done    int64  `json:"done"`
	Total   int64  `json:"total"`
	RateBPS int64  `json:"rate_bps"`
}

func (p *transitionProgress) update(done, total int64) {
	s, show := p.meter.Update(done, total)
	switch {
	case p.json != nil && show:
		_ = p.json.Encode(progressLine{Op: p.op, Done: s.Done, Total: s.Total, RateBPS: s.RateBPS})
	case p.bar != nil:
		p.bar.update(done, total)
	}
}

func (p *transitionProgress) finish() {
	if p.bar != nil {
		p.bar.finish()
		p.bar = nil
	}
}
