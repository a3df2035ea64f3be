package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keyops"
	"github.com/caamcrypt/caamcrypt/internal/keystore"
)

func keyCommands() []*cli.Command {
	force := &cli.BoolFlag{Name: "force", Usage: "replace an existing key, keeping a dated copy of the old blob"}
	enc := &cli.StringFlag{Name: "enc", Value: "ecb", Usage: "black key encryption `MODE`: ecb or ccm"}
	return []*cli.Command{{
		Name:  "key",
		Usage: "create, import, derive and inspect CAAM black keys and blobs",
		Subcommands: []*cli.Command{
			{
				Name:      "create",
				Usage:     "make a black key NAME and its blob NAME.bb in the key directory",
				ArgsUsage: "NAME",
				Description: "The red key is drawn by the CAAM (--size) or given (--key-file, --hex, --text).\n" +
					"--hex and --text put the key on the command line, where other users can read it\n" +
					"in /proc; prefer --key-file (\"-\" for standard input).",
				Flags: []cli.Flag{
					enc,
					&cli.IntFlag{Name: "size", Aliases: []string{"s"}, Usage: "random key of `N` bytes (16..64)", DefaultText: "32 when no key is given"},
					&cli.StringFlag{Name: "key-file", Usage: "read the red key (raw bytes) from `FILE`, \"-\" for standard input"},
					&cli.StringFlag{Name: "hex", Usage: "red key as `HEX` digits (visible in /proc; see above)"},
					&cli.StringFlag{Name: "text", Aliases: []string{"t"}, Usage: "red key as `TEXT` (visible in /proc; see above)"},
					force,
				},
				Action: keyCreate,
			},
			{
				Name:      "import",
				Usage:     "turn a blob back into a black key valid until the next power-on",
				ArgsUsage: "BLOB NAME",
				Flags:     []cli.Flag{force},
				Action:    keyImport,
			},
			{
				Name:      "derive",
				Usage:     "derive a key from a passphrase with PBKDF2 and store it as a black key and blob",
				ArgsUsage: "NAME",
				Description: "The passphrase is read from --passphrase-file (default: standard input), never\n" +
					"from the command line. Prints the salt and IV needed to derive the same key again.",
				Flags: []cli.Flag{
					enc,
					&cli.StringFlag{Name: "passphrase-file", Value: "-", Usage: "read the passphrase from `FILE` (first line), \"-\" for standard input"},
					&cli.StringFlag{Name: "digest", Value: "sha256", Usage: "PBKDF2 `DIGEST`: sha1, sha224, sha256, sha384, sha512"},
					&cli.StringFlag{Name: "salt", Usage: "8-byte salt as 16 `HEX` digits", DefaultText: "random"},
					&cli.BoolFlag{Name: "no-salt", Usage: "derive without a salt"},
					&cli.IntFlag{Name: "iter", Value: keyops.DefaultIterations, Usage: "`N` PBKDF2 iterations"},
					&cli.IntFlag{Name: "size", Aliases: []string{"s"}, Value: 32, Usage: "key size: `N` bytes (16..64)"},
					force,
				},
				Action: keyDerive,
			},
			{
				Name:      "info",
				Usage:     "decode a tagged black key or blob file (no CAAM needed)",
				ArgsUsage: "FILE",
				Flags:     []cli.Flag{&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action:    keyInfo,
			},
		},
	}}
}

// args returns exactly n positional arguments or a usage error.
func args(c *cli.Context, names ...string) ([]string, error) {
	if c.NArg() != len(names) {
		return nil, fmt.Errorf("%w: %s %s takes %s (got %d arguments)", fail.ErrUsage,
			c.Command.HelpName, c.Command.ArgsUsage, strings.Join(names, " and "), c.NArg())
	}
	return c.Args().Slice(), nil
}

// openCAAM opens the keygen device named by the global flag.
func openCAAM(c *cli.Context) (*caamc.Device, error) {
	return caamc.Open(c.String("caam-device"))
}

func keyStore(c *cli.Context) *keystore.Store { return keystore.New(c.String("key-dir")) }

// nameAndEncryption reads the NAME argument and --enc of key create and
// key derive, checking both before any device is touched.
func nameAndEncryption(c *cli.Context) (string, caamc.Encryption, error) {
	a, err := args(c, "NAME")
	if err != nil {
		return "", 0, err
	}
	if err := keystore.ValidName(a[0]); err != nil {
		return "", 0, err
	}
	enc, err := caamc.ParseEncryption(c.String("enc"))
	return a[0], enc, err
}

func keyCreate(c *cli.Context) error {
	name, enc, err := nameAndEncryption(c)
	if err != nil {
		return err
	}
	spec, err := keySpecFromFlags(c)
	if err != nil {
		return err
	}
	defer keyops.Wipe(spec.Plaintext)
	if err := spec.Validate(); err != nil {
		return err
	}
	dev, err := openCAAM(c)
	if err != nil {
		return err
	}
	defer dev.Close()
	res, err := keyops.Create(dev, keyStore(c), name, enc, spec, c.Bool("force"))
	if err != nil {
		return err
	}
	printCreated(c.App.Writer, res)
	return nil
}

// keySpecFromFlags picks the one key source the flags name.
func keySpecFromFlags(c *cli.Context) (caamc.KeySpec, error) {
	set := 0
	for _, f := range []string{"size", "key-file", "hex", "text"} {
		if c.IsSet(f) {
			set++
		}
	}
	if set > 1 {
		return caamc.KeySpec{}, fmt.Errorf("%w: give only one of --size, --key-file, --hex, --text", fail.ErrUsage)
	}
	switch {
	case c.IsSet("key-file"):
		b, err := readSecret(c, c.String("key-file"), false)
		return caamc.KeySpec{Plaintext: b}, err
	case c.IsSet("hex"):
		b, err := hex.DecodeString(c.String("hex"))
		if err != nil {
			return caamc.KeySpec{}, fmt.Errorf("%w: --hex: %w", fail.ErrUsage, err)
		}
		return caamc.KeySpec{Plaintext: b}, nil
	case c.IsSet("text"):
		return caamc.KeySpec{Plaintext: []byte(c.String("text"))}, nil
	case c.IsSet("size"):
		return caamc.KeySpec{Size: c.Int("size")}, nil
	}
	return caamc.KeySpec{Size: 32}, nil
}

// maxSecret bounds a key file or passphrase line readSecret accepts.
const maxSecret = 4096

// readSecret reads key material or a passphrase from path ("-": standard
// input). firstLine keeps only the first line, without its newline. The
// secret is returned in the one buffer it was read into, the rest of which
// is wiped, so the caller's wipe reaches every copy; a secret longer than
// maxSecret is refused rather than silently cut.
func readSecret(c *cli.Context, path string, firstLine bool) ([]byte, error) {
	var r io.Reader = c.App.Reader
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", fail.ErrUsage, err)
		}
		defer f.Close()
		r = f
	}
	// One fixed buffer: io.ReadAll would grow it by copying, leaving
	// unwiped copies of a long secret behind.
	buf := make([]byte, maxSecret+1)
	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		keyops.Wipe(buf)
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	b := buf[:n]
	if firstLine {
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			keyops.Wipe(b[i:])
			b = b[:i]
		}
		if len(b) > 0 && b[len(b)-1] == '\r' {
			b[len(b)-1] = 0
			b = b[:len(b)-1]
		}
	}
	if len(b) > maxSecret {
		keyops.Wipe(buf)
		src, what := path, "the file"
		if path == "-" {
			src, what = "standard input", "the input"
		}
		if firstLine {
			what = "its first line"
		}
		return nil, fmt.Errorf("%w: reading a secret from %s: %s is longer than %d bytes", fail.ErrUsage, src, what, maxSecret)
	}
	return b, nil
}

func keyImport(c *cli.Context) error {
	a, err := args(c, "BLOB", "NAME")
	if err != nil {
		return err
	}
	if err := keystore.ValidName(a[1]); err != nil {
		return err
	}
	dev, err := openCAAM(c)
	if err != nil {
		return err
	}
	defer dev.Close()
	res, err := keyops.Import(dev, keyStore(c), a[0], a[1], c.Bool("force"))
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "black key %s (%d bytes) imported from %s; valid until the next power-on reset\n",
		res.KeyPath, res.KeyLen, res.BlobPath)
	return nil
}

func keyDerive(c *cli.Context) error {
	name, enc, err := nameAndEncryption(c)
	if err != nil {
		return err
	}
	p := keyops.DeriveParams{Digest: c.String("digest"), Iterations: c.Int("iter"), KeySize: c.Int("size"), Enc: enc, Force: c.Bool("force")}
	switch {
	case c.IsSet("salt") && c.Bool("no-salt"):
		return fmt.Errorf("%w: give --salt or --no-salt, not both", fail.ErrUsage)
	case c.Bool("no-salt"):
		p.Salt = []byte{}
	case c.IsSet("salt"):
		if p.Salt, err = hex.DecodeString(c.String("salt")); err != nil {
			return fmt.Errorf("%w: --salt: %w", fail.ErrUsage, err)
		}
	}
	if err := p.Check(); err != nil {
		return err
	}
	pass, err := readSecret(c, c.String("passphrase-file"), true)
	if err != nil {
		return err
	}
	dev, err := openCAAM(c)
	if err != nil {
		keyops.Wipe(pass)
		return err
	}
	defer dev.Close()
	res, err := keyops.Derive(dev, keyStore(c), name, pass, p)
	if err != nil {
		return err
	}
	printCreated(c.App.Writer, &res.Created)
	w := c.App.Writer
	if len(res.Salt) > 0 {
		fmt.Fprintf(w, "salt=%X\n", res.Salt)
	}
	fmt.Fprintf(w, "iv =%X\n", res.IV)
	return nil
}

func printCreated(w io.Writer, r *keyops.Created) {
	fmt.Fprintf(w, "black key %s (%d bytes)\nblob      %s (%d bytes)\n", r.KeyPath, r.KeyLen, r.BlobPath, r.BlobLen)
	if r.Backup != "" {
		fmt.Fprintf(w, "previous blob kept as %s\n", r.Backup)
	}
}

func keyInfo(c *cli.Context) error {
	a, err := args(c, "FILE")
	if err != nil {
		return err
	}
	b, err := keystore.ReadFile(a[0])
	if err != nil {
		return err
	}
	obj, err := caamc.ParseObject(b)
	if err != nil {
		return fmt.Errorf("%s: %w", a[0], err)
	}
	d := obj.Describe()
	if c.Bool("json") {
		return writeJSON(c.App.Writer, d)
	}
	printDescription(c.App.Writer, a[0], d)
	return nil
}

func printDescription(w io.Writer, path string, d caamc.Description) {
	fmt.Fprintf(w, "%s: %s %s, %s, %s, %s memory\n", path, d.Color, d.Kind, strings.ToUpper(d.Encryption), d.KEK, d.Memory)
	fmt.Fprintf(w, "  red key      %d bytes (AES-%d)\n", d.RedKeyLen, d.RedKeyLen*8)
	fmt.Fprintf(w, "  object       %d bytes + %d-byte tag = %d bytes\n", d.ObjectLen, caamc.TagSize, d.FileLen)
	fmt.Fprintf(w, "  tag type     0x%x (security state %d)\n", d.Type, d.SecurityState)
	if d.DMKeyLen > 0 {
		fmt.Fprintf(w, "  dm-crypt key :%d:logon:<description>\n", d.DMKeyLen)
	}
}
