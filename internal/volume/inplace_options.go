package volume

// EncryptOptions say what Encrypt makes of a plain ext2/3/4 device.
type EncryptOptions struct {
	Device     string // path, UUID= or LABEL=
	Name       string // volume name for the header label default and the mapping; default: Label, else the device's base name
	Label      string // volume label (default: the file system's label)
	Key        string // reuse this key of the key directory (its blob)
	SaveKey    bool   // also save the new key as files NAME, NAME.bb
	Enc        string // "ecb" (default) or "ccm"
	KeySize    int    // red key bytes, default 32
	SectorSize int    // default 4096
	DryRun     bool   // checks and estimates only; nothing is written
	// Progress gets the bytes moved and the total while data moves.
	Progress func(done, total int64)
}

// DecryptOptions say which volume Decrypt turns back into its plain file system.
type DecryptOptions struct {
	Device   string
	NoGrow   bool // leave the file system at its size (else it grows to the whole device)
	DryRun   bool
	Progress func(done, total int64)
}

// ReencryptOptions say which volume gets a new key.
type ReencryptOptions struct {
	Device   string
	Key      string // the new key: this key of the key directory (default: a new CAAM key)
	SaveKey  bool   // save the new key as files NAME, NAME.bb
	Enc      string // of a new key: "ecb" (default) or "ccm"
	KeySize  int    // of a new key: red key bytes, default 32
	DryRun   bool
	Progress func(done, total int64)
}

// TransitionResult reports an in-place encrypt, decrypt or reencrypt.
type TransitionResult struct {
	Op            string `json:"op"` // encrypt, decrypt, reencrypt
	Device        string `json:"device"`
	UUID          string `json:"uuid,omitempty"`
	Label         string `json:"label,omitempty"`
	Key           string `json:"key,omitempty"` // key file name when saved or reused
	DryRun        bool   `json:"dry_run"`
	Resumed       bool   `json:"resumed"`
	FSSize        int64  `json:"fs_size"`        // bytes of the file system moved (after any shrink)
	FSSizeBefore  int64  `json:"fs_size_before"` // bytes before
	PayloadOffset int64  `json:"payload_offset"`
	PayloadSize   int64  `json:"payload_size"`
	// GivenUp is what the file system gives up (shrink) for the header
	// and the transition record.
	GivenUp int64 `json:"given_up"`
	// Seconds is the time the data moved; EstimateSeconds the dry run's guess.
	Seconds         float64  `json:"seconds"`
	EstimateSeconds float64  `json:"estimate_seconds,omitempty"`
	Notes           []string `json:"notes,omitempty"`
}
