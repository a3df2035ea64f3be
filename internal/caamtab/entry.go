package caamtab

// Volume types.
const (
	// TypeCaamcrypt volumes carry a caamcrypt header with the blob.
	TypeCaamcrypt = "caamcrypt"
	// TypePlain volumes are bare dm-crypt, the seed's layout: no header,
	// parameters from this file.
	TypePlain = "plain"
)

// DefaultPath is where the CLI looks for the file.
const DefaultPath = "/etc/caamtab"

// Entry is one volume line.
type Entry struct {
	Name    string  // device-mapper name
	Device  string  // path, UUID=..., LABEL=..., PARTUUID=... or PARTLABEL=..., as written
	Key     string  // "" for caamcrypt volumes; key name or absolute path for plain ones
	Options Options // parsed options, Type always set
	Line    int     // 1-based line number in the file
}

// Options are the comma-separated options of an entry. Zero values mean
// "not given": the caller applies its defaults.
type Options struct {
	Mount      string // mount=: absolute directory to mount the filesystem on; "" = map only
	FS         string // fs=: "ext4" or "none"; "" = default (ext4 when Mount is set)
	SectorSize int    // sector-size=: 512..4096, plain volumes only (a caamcrypt header has it); 0 = default
	Type       string // type=: TypeCaamcrypt or TypePlain; inferred from the key column when absent
	NoFail     bool   // nofail: a failure of this volume does not fail open --all
	NoAuto     bool   // noauto: open --all skips it
	ReadOnly   bool   // readonly / ro: read-only mapping and mount
	Discard    bool   // discard: dm-crypt allow_discards (leaks which blocks are free)
	Keyring    string // keyring=: "@u", "@s", "@us", "@p" or "@t"; "" = default (@u)
	KeepKey    bool   // keep-key: leave the logon key in the keyring after the table is loaded
	Cipher     string // cipher=: dm-crypt cipher for plain volumes; "" = default
}
