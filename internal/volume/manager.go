package volume

import (
	"github.com/sirupsen/logrus"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/keyring"
)

// DefaultLockDir is where the per-volume lock files live (a tmpfs at boot).
const DefaultLockDir = "/run/caamcrypt"

// Config configures a Manager.
type Config struct {
	// KeyDir is the key directory (caam-keygen layout) for plain volumes
	// and optional key file copies.
	KeyDir string
	// CAAMDevice is the caam-keygen node; "" means caamc.DefaultDevice.
	CAAMDevice string
	// LockDir holds the per-volume lock files; "" means DefaultLockDir.
	LockDir string
	// Keyring is where the volume key is added for the table load; the
	// zero value means keyring.DefaultRing (@u: dm-crypt finds keys there
	// even when the session keyring differs, docs/caam-abi.md §6).
	Keyring keyring.Ring
	// Log receives progress and debug traces; nil means logrus' standard logger.
	Log *logrus.Logger
	// KeyStore overrides the key directory adapter; nil means package
	// keystore on KeyDir.
	KeyStore KeyStore
}

// deps are the collaborators of a Manager.
type deps struct {
	keys    KeySource
	store   KeyStore
	mapper  Mapper
	ring    Keyring
	fs      Filesystem
	mounter Mounter
	locker  Locker
	devices Devices
	kernel  KernelFeatures
}

// Manager carries out volume operations. It holds no open resources; one
// Manager may serve several operations, concurrently too (the per-volume
// lock serialises those on one volume).
type Manager struct {
	cfg Config
	log *logrus.Entry
	d   deps
}

// NewManager returns a Manager using the real kernel interfaces.
func NewManager(cfg Config) *Manager {
	if cfg.LockDir == "" {
		cfg.LockDir = DefaultLockDir
	}
	if cfg.CAAMDevice == "" {
		cfg.CAAMDevice = caamc.DefaultDevice
	}
	d := deps{
		keys:    &caamKeySource{path: cfg.CAAMDevice},
		store:   cfg.KeyStore,
		mapper:  dmMapper{},
		ring:    kernelKeyring{},
		fs:      execFilesystem{},
		mounter: kernelMounter{},
		locker:  &flockLocker{dir: cfg.LockDir},
		devices: osDevices{},
		kernel:  procKernel{proc: "/proc", modules: "/lib/modules"},
	}
	if d.store == nil {
		d.store = newFileKeyStore(cfg.KeyDir)
	}
	return newManager(cfg, d)
}

// newManager builds a Manager around the given collaborators (tests pass fakes).
func newManager(cfg Config, d deps) *Manager {
	if cfg.Keyring == 0 {
		cfg.Keyring = keyring.DefaultRing
	}
	log := cfg.Log
	if log == nil {
		log = logrus.StandardLogger()
	}
	return &Manager{cfg: cfg, log: log.WithField("pkg", "volume"), d: d}
}
