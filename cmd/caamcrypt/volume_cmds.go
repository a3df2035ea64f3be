package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/caamcrypt/caamcrypt/internal/caamtab"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/volume"
)

// plainNoCheck warns about plain volumes in the help: without a header
// there is no key-check area, so a stale or foreign key is not detected and
// maps as garbage (docs/caam-abi.md §9), as in the manual caam-keygen flow.
const plainNoCheck = "no wrong-key check: a wrong key maps garbage, seen only as no filesystem at mount"

// volumeCommands returns the volume commands: format, open, close, status
// and header.
func volumeCommands() []*cli.Command {
	return []*cli.Command{formatCommand(), openCommand(), closeCommand(), statusCommand(), headerCommand()}
}

// newVolumeManager builds the orchestration from the global flags.
func newVolumeManager(c *cli.Context) *volume.Manager {
	return volume.NewManager(volume.Config{
		KeyDir:     c.String("key-dir"),
		CAAMDevice: c.String("caam-device"),
		Log:        logrus.StandardLogger(),
	})
}

// isDeviceArg tells a device spec from a volume name: a path, or
// UUID=, LABEL=, PARTUUID=, PARTLABEL= (volume names contain no '/' or '=').
func isDeviceArg(s string) bool {
	return strings.ContainsAny(s, "/=")
}

// openArgIsDevice tells what open's argument names. Beyond isDeviceArg, a
// plain word that names an existing file ("disk.img" in the current
// directory) is that file, unless the volume table also has an entry of
// that name: then the word is ambiguous and refused, rather than opening
// one when the user meant the other.
func openArgIsDevice(c *cli.Context, word string) (bool, error) {
	if isDeviceArg(word) {
		return true, nil
	}
	if _, err := os.Lstat(word); err != nil {
		return false, nil
	}
	e, err := configEntry(c, word)
	if err != nil {
		return false, err
	}
	if e != nil {
		return false, fmt.Errorf("%w: %q is both a file in the current directory and a volume in %s: write ./%s for the file",
			fail.ErrUsage, word, c.String("config"), word)
	}
	return true, nil
}

// deviceArg makes a relative path absolute (the resolver wants absolute
// paths: an image file in the current directory is a fine device in tests).
func deviceArg(s string) string {
	if strings.Contains(s, "=") || filepath.IsAbs(s) {
		return s
	}
	if abs, err := filepath.Abs(s); err == nil {
		return abs
	}
	return s
}

// configEntry returns the caamtab entry named name, or nil when the file
// does not exist or has no such entry.
func configEntry(c *cli.Context, name string) (*caamtab.Entry, error) {
	entries, err := caamtab.ParseFile(c.String("config"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i := range entries {
		if entries[i].Name == name {
			return &entries[i], nil
		}
	}
	return nil, nil
}

func formatCommand() *cli.Command {
	return &cli.Command{
		Name:      "format",
		Usage:     "make a new encrypted volume on DEVICE and leave it open",
		ArgsUsage: "DEVICE",
		Description: "Creates a CAAM key (or reuses --key), writes the caamcrypt header holding the blob\n" +
			"(--type caamcrypt) or uses the headerless layout of volumes made by hand with\n" +
			"caam-keygen and dmsetup (--type plain, key files\n" +
			"NAME and NAME.bb in the key directory), maps the volume at /dev/mapper/NAME and\n" +
			"makes a filesystem. Refuses a device that holds data unless --force, and one in use always.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "name", Usage: "mapping `NAME`", DefaultText: "the label, else the device's name"},
			&cli.StringFlag{Name: "label", Usage: "volume and filesystem `LABEL`"},
			&cli.StringFlag{Name: "key", Usage: "use key `NAME` of the key directory (plain: made if missing)", DefaultText: "the volume name"},
			&cli.BoolFlag{Name: "save-key", Usage: "caamcrypt type: also save the new key as files NAME and NAME.bb in the key directory (NAME: --key, else the volume name)"},
			&cli.StringFlag{Name: "enc", Value: "ecb", Usage: "black key encryption `MODE`: ecb or ccm"},
			&cli.IntFlag{Name: "key-size", Value: volume.DefaultKeySize, Usage: "red key size: `N` bytes (16..64)"},
			&cli.IntFlag{Name: "sector-size", Usage: "dm-crypt sector size: `N` bytes, 512..4096", DefaultText: "4096; plain: 512"},
			&cli.StringFlag{Name: "fs", Value: volume.FSExt4, Usage: "`FS` to make: ext4 or none"},
			&cli.StringFlag{Name: "type", Value: volume.TypeCAAMCrypt, Usage: "volume `TYPE`: caamcrypt or plain (headerless, as made by hand with caam-keygen and dmsetup: " + plainNoCheck + ")"},
			&cli.BoolFlag{Name: "wipe", Usage: "fill the volume with encrypted zeros first (slow)"},
			&cli.BoolFlag{Name: "force", Usage: "format even if the device holds a filesystem, partition table or caamcrypt header, " +
				"or is a plain volume holding a filesystem (never a device in use)"},
			&cli.StringFlag{Name: "mount", Usage: "mount the new filesystem on `DIR`"},
			&cli.BoolFlag{Name: "keep-key", Usage: "leave the key in the kernel keyring once dm-crypt has it"},
		},
		Action: formatAction,
	}
}

// refuseZeroSizes refuses --key-size 0 and --sector-size 0 typed by the
// user: the options structs read 0 as "the default", so a typed 0 would
// silently mean the default instead of being the mistake it is.
func refuseZeroSizes(c *cli.Context) error {
	for _, n := range []string{"key-size", "sector-size"} {
		if c.IsSet(n) && c.Int(n) == 0 {
			return fmt.Errorf("%w: --%s 0: give a size, or leave the option out for the default", fail.ErrUsage, n)
		}
	}
	return nil
}

func formatAction(c *cli.Context) error {
	a, err := args(c, "DEVICE")
	if err != nil {
		return err
	}
	if err := refuseZeroSizes(c); err != nil {
		return err
	}
	o := volume.FormatOptions{
		Device: deviceArg(a[0]), Name: c.String("name"), Label: c.String("label"), Key: c.String("key"),
		SaveKey: c.Bool("save-key"), Enc: c.String("enc"), KeySize: c.Int("key-size"),
		SectorSize: c.Int("sector-size"), FS: c.String("fs"), Type: c.String("type"), Wipe: c.Bool("wipe"),
		Force: c.Bool("force"), Mount: c.String("mount"), KeepKey: c.Bool("keep-key"),
	}
	if o.Wipe {
		p := newProgress(c.App.ErrWriter, "wiping")
		defer p.finish()
		o.Progress = p.update
	}
	v, err := newVolumeManager(c).Format(ctx(c), o)
	if err != nil {
		return err
	}
	w := c.App.Writer
	fmt.Fprintf(w, "formatted %s as %s volume %s", v.Device, v.Type, v.Name)
	if v.UUID != "" {
		fmt.Fprintf(w, " (UUID %s)", v.UUID)
	}
	fmt.Fprintf(w, "; open at %s", v.Node)
	if v.MountPoint != "" {
		fmt.Fprintf(w, ", mounted on %s", v.MountPoint)
	}
	fmt.Fprintln(w)
	if v.Key != "" {
		fmt.Fprintf(w, "key files: %s and %s.bb in the key directory; keep a copy of the blob, it is the only way back to the data\n", v.Key, v.Key)
	}
	return nil
}

func openCommand() *cli.Command {
	return &cli.Command{
		Name:      "open",
		Usage:     "unlock a volume: import its blob, check the key, map it, and mount it if asked",
		ArgsUsage: "DEVICE|NAME | --all",
		Description: "DEVICE is a path, UUID=... or LABEL=...; a NAME is looked up in the volume table\n" +
			"(--config). A word that names an existing file (disk.img) is that file; a word that\n" +
			"is both a file here and a table entry is refused: write ./disk.img for the file.\n" +
			"Opening an open volume succeeds and changes nothing.\n" +
			"--all opens every table entry without noauto; a nofail entry that fails does not fail the run.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "all", Usage: "open every volume of the volume table (--config)"},
			&cli.StringFlag{Name: "name", Usage: "mapping `NAME`", DefaultText: "the header label, else the device's name"},
			&cli.StringFlag{Name: "mount", Usage: "check and mount the filesystem on `DIR`"},
			&cli.BoolFlag{Name: "readonly", Usage: "map (and mount) read-only"},
			&cli.StringFlag{Name: "type", Usage: "volume `TYPE`: caamcrypt or plain (" + plainNoCheck + ")", DefaultText: "caamcrypt"},
			&cli.StringFlag{Name: "key", Usage: "plain: key `NAME` in the key directory", DefaultText: "the volume name"},
			&cli.IntFlag{Name: "sector-size", Usage: "plain: dm-crypt sector size: `N` bytes", DefaultText: "512, as caam-keygen users map it"},
			&cli.BoolFlag{Name: "keep-key", Usage: "leave the key in the kernel keyring once dm-crypt has it"},
		},
		Action: openAction,
	}
}

func openAction(c *cli.Context) error {
	if c.Bool("all") {
		return allAction(c, true)
	}
	a, err := args(c, "DEVICE|NAME")
	if err != nil {
		return err
	}
	o := volume.OpenOptions{Name: c.String("name")}
	isDevice, err := openArgIsDevice(c, a[0])
	if err != nil {
		return err
	}
	if isDevice {
		o.Device = deviceArg(a[0])
	} else {
		if o.Name != "" && o.Name != a[0] {
			return fmt.Errorf("%w: open %s --name %s: give the name once", fail.ErrUsage, a[0], o.Name)
		}
		o.Name = a[0]
		e, err := configEntry(c, a[0])
		if err != nil {
			return err
		}
		if e != nil {
			o = volume.OpenOptionsFromEntry(*e)
		}
	}
	applyOpenFlags(c, &o)
	v, err := newVolumeManager(c).Open(ctx(c), o)
	if err != nil {
		return err
	}
	state := "opened"
	if v.AlreadyOpen {
		state = "already open:"
	}
	fmt.Fprintf(c.App.Writer, "%s %s at %s", state, v.Name, v.Node)
	if v.MountPoint != "" {
		fmt.Fprintf(c.App.Writer, ", mounted on %s", v.MountPoint)
	}
	fmt.Fprintln(c.App.Writer)
	return nil
}

// applyOpenFlags lets command-line flags override the table.
func applyOpenFlags(c *cli.Context, o *volume.OpenOptions) {
	if c.IsSet("mount") {
		o.Mount = c.String("mount")
	}
	if c.IsSet("readonly") {
		o.ReadOnly = c.Bool("readonly")
	}
	if c.IsSet("type") {
		o.Type = c.String("type")
	}
	if c.IsSet("key") {
		o.Key = c.String("key")
	}
	if c.IsSet("sector-size") {
		o.SectorSize = c.Int("sector-size")
	}
	if c.IsSet("keep-key") {
		o.KeepKey = c.Bool("keep-key")
	}
}

func closeCommand() *cli.Command {
	return &cli.Command{
		Name:      "close",
		Usage:     "unmount a volume, remove its mapping and drop its key; closing a closed volume succeeds",
		ArgsUsage: "NAME|DEVICE | --all",
		Flags:     []cli.Flag{&cli.BoolFlag{Name: "all", Usage: "close every volume of the volume table (--config), last first"}},
		Action:    closeAction,
	}
}

func closeAction(c *cli.Context) error {
	if c.Bool("all") {
		return allAction(c, false)
	}
	a, err := args(c, "NAME|DEVICE")
	if err != nil {
		return err
	}
	o := volume.CloseOptions{Name: a[0]}
	if isDeviceArg(a[0]) {
		o = volume.CloseOptions{Device: deviceArg(a[0])}
	}
	if err := newVolumeManager(c).Close(ctx(c), o); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "closed %s\n", a[0])
	return nil
}

// ctx returns the command's context (never nil).
func ctx(c *cli.Context) context.Context {
	if c.Context != nil {
		return c.Context
	}
	return context.Background()
}
