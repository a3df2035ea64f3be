package volume

import (
	"fmt"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/header"
	"github.com/caamcrypt/caamcrypt/internal/keyring"
)

// Defaults of format and open.
const (
	// DefaultCipher is the CAAM tagged-key cipher of the seed (docs/caam-abi.md
	// §4); CAAM offers no XTS with tagged keys.
	DefaultCipher = "capi:tk(cbc(aes))-plain"
	// DefaultKeySize is the red key size of new keys in bytes (AES-256).
	DefaultKeySize = 32
	// DefaultSectorSize of caamcrypt volumes: 4096-byte sectors cut the
	// per-request overhead on the CAAM sharply (docs/caam-abi.md §10).
	DefaultSectorSize = 4096
	// DefaultPlainSectorSize of plain volumes is the seed's sector_size:512.
	DefaultPlainSectorSize = 512
	// FSExt4 and FSNone are the values of FormatOptions.FS.
	FSExt4 = "ext4"
	FSNone = "none"
)

// FormatOptions say what Format makes.
type FormatOptions struct {
	Device string // path, UUID= or LABEL=
	Name   string // mapping name; default: Label, else the device's base name
	Label  string // volume label (header and filesystem)
	// Key names a key in the key directory. caamcrypt type: reuse that
	// key's blob (it must exist). Plain type: reuse it if it exists, else
	// make a new key saved under this name (default: the volume name).
	Key string
	// SaveKey (caamcrypt type) also saves a new key as files NAME and
	// NAME.bb (NAME = the volume name) in the key directory, as a spare
	// copy of the blob in the header.
	SaveKey    bool
	Enc        string // "ecb" (default) or "ccm"
	KeySize    int    // red key bytes, default 32
	SectorSize int    // default 4096 (caamcrypt) or 512 (plain)
	FS         string // "ext4" (default) or "none"
	Type       string // "caamcrypt" (default) or "plain"
	Wipe       bool   // fill the payload with encrypted zeros
	Force      bool   // format even if the device holds data (never when it is in use)
	KeepKey    bool   // leave the key in the keyring after the table load
	Mount      string // mount the new filesystem here
	// Progress is called during the wipe with bytes done and total.
	Progress func(done, total int64)
}

// OpenOptions say what Open maps.
type OpenOptions struct {
	Device     string // path, UUID= or LABEL=; may be empty if Name is mapped
	Name       string // mapping name; default from the header label or device
	Mount      string // mount point; "" maps only (no fsck then)
	ReadOnly   bool
	Type       string // "caamcrypt" (default) or "plain"
	Key        string // plain: key name in the key directory or absolute blob path (default: Name)
	SectorSize int    // plain: default 512
	Cipher     string // plain: dm-crypt cipher (default DefaultCipher, the seed's)
	Discard    bool   // pass allow_discards to dm-crypt
	KeepKey    bool
	// Keyring overrides Config.Keyring for this open ("" = default).
	Keyring string
}

// CloseOptions say which volume Close closes: by Name, or every caamcrypt
// mapping of Device.
type CloseOptions struct {
	Name   string
	Device string
}

// Volume describes a volume after Format or Open. It never holds key material.
type Volume struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Device      string `json:"device"`
	Node        string `json:"node"` // /dev/mapper/<name>
	UUID        string `json:"uuid,omitempty"`
	Label       string `json:"label,omitempty"`
	Key         string `json:"key,omitempty"` // key file name (plain, or saved copy)
	Cipher      string `json:"cipher"`
	SectorSize  int    `json:"sector_size"`
	Size        int64  `json:"size_bytes"` // payload bytes
	ReadOnly    bool   `json:"read_only"`
	MountPoint  string `json:"mount_point,omitempty"`
	AlreadyOpen bool   `json:"already_open"`
}

// normalize fills defaults and checks the options without touching anything.
func (o *FormatOptions) normalize() (caamc.Encryption, error) {
	if o.Type == "" {
		o.Type = TypeCAAMCrypt
	}
	if o.Type != TypeCAAMCrypt && o.Type != TypePlain {
		return 0, fmt.Errorf("%w: volume type %q: want caamcrypt or plain", fail.ErrUsage, o.Type)
	}
	if o.Enc == "" {
		o.Enc = "ecb"
	}
	enc, err := caamc.ParseEncryption(o.Enc)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", fail.ErrUsage, err)
	}
	if o.KeySize == 0 {
		o.KeySize = DefaultKeySize
	}
	if o.KeySize < caamc.MinKeySize || o.KeySize > caamc.MaxKeySize {
		return 0, fmt.Errorf("%w: key size %d: the CAAM accepts %d..%d bytes", fail.ErrUsage, o.KeySize, caamc.MinKeySize, caamc.MaxKeySize)
	}
	if o.SectorSize == 0 {
		o.SectorSize = DefaultSectorSize
		if o.Type == TypePlain {
			o.SectorSize = DefaultPlainSectorSize
		}
	}
	if err := checkSectorSize(o.SectorSize); err != nil {
		return 0, err
	}
	if o.FS == "" {
		o.FS = FSExt4
	}
	if o.FS != FSExt4 && o.FS != FSNone {
		return 0, fmt.Errorf("%w: filesystem %q: want ext4 or none", fail.ErrUsage, o.FS)
	}
	if o.FS == FSNone && o.Mount != "" {
		return 0, fmt.Errorf("%w: --mount needs a filesystem (--fs ext4)", fail.ErrUsage)
	}
	if len(o.Label) > header.MaxLabelLen {
		return 0, fmt.Errorf("%w: label %q is longer than %d bytes", fail.ErrUsage, o.Label, header.MaxLabelLen)
	}
	if o.FS == FSExt4 && len(o.Label) > 16 {
		return 0, fmt.Errorf("%w: label %q is longer than the 16 bytes an ext4 label holds", fail.ErrUsage, o.Label)
	}
	if o.Type == TypePlain && o.SaveKey {
		return 0, fmt.Errorf("%w: --save-key is for caamcrypt volumes; plain volumes always keep their key files", fail.ErrUsage)
	}
	if o.Type == TypeCAAMCrypt && o.Key != "" && o.SaveKey {
		return 0, fmt.Errorf("%w: --key reuses an existing key file; --save-key saves a new one: give one of them", fail.ErrUsage)
	}
	return enc, nil
}

// normalize fills defaults and checks the options.
func (o *OpenOptions) normalize(def keyring.Ring) (keyring.Ring, error) {
	if o.Type == "" {
		o.Type = TypeCAAMCrypt
	}
	if o.Type != TypeCAAMCrypt && o.Type != TypePlain {
		return 0, fmt.Errorf("%w: volume type %q: want caamcrypt or plain", fail.ErrUsage, o.Type)
	}
	if o.Type == TypeCAAMCrypt && (o.Key != "" || o.SectorSize != 0 || o.Cipher != "") {
		return 0, fmt.Errorf("%w: key, sector size and cipher are given for plain volumes only; a caamcrypt volume's header has them", fail.ErrUsage)
	}
	if o.Cipher == "" {
		o.Cipher = DefaultCipher
	}
	if o.Type == TypePlain {
		if o.SectorSize == 0 {
			o.SectorSize = DefaultPlainSectorSize
		}
		if err := checkSectorSize(o.SectorSize); err != nil {
			return 0, err
		}
	}
	if o.Device == "" && o.Name == "" {
		return 0, fmt.Errorf("%w: open needs a device or a volume name", fail.ErrUsage)
	}
	ring := def
	if o.Keyring != "" {
		r, err := keyring.ParseRing(o.Keyring)
		if err != nil {
			return 0, fmt.Errorf("%w: keyring %q: %w", fail.ErrUsage, o.Keyring, err)
		}
		ring = r
	}
	return ring, nil
}

// checkSectorSize accepts the dm-crypt sector sizes: powers of two in 512..4096.
func checkSectorSize(n int) error {
	if n < 512 || n > 4096 || n&(n-1) != 0 {
		return fmt.Errorf("%w: sector size %d: want a power of two in 512..4096", fail.ErrUsage, n)
	}
	return nil
}
