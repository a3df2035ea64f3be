package keyops

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"hash"

	"golang.org/x/crypto/pbkdf2"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keystore"
)

// SaltLen is the PBKDF2 salt length, the 8 bytes of OpenSSL's and caam-keygen's convention.
const SaltLen = 8

// IVLen is the length of the IV derived together with the key.
const IVLen = 16

// DefaultIterations is OpenSSL's default PBKDF2 iteration count.
const DefaultIterations = 10000

// DeriveParams are the inputs of Derive besides the passphrase.
type DeriveParams struct {
	Digest     string // sha1..sha512
	Salt       []byte // nil: a random salt; empty non-nil: no salt
	Iterations int
	KeySize    int // red key bytes, 16..64
	Enc        caamc.Encryption
	Force      bool // replace an existing key, keeping a dated copy of its blob
}

// Derived is the outcome of Derive: the stored key and the public values a
// user needs to derive the same key again.
type Derived struct {
	Created
	Salt, IV []byte
}

// Check validates the parameters without a device or passphrase, so the
// command refuses bad numbers before it reads a secret or opens the CAAM.
func (p DeriveParams) Check() error {
	if _, err := Digest(p.Digest); err != nil {
		return err
	}
	if p.Iterations < 1 {
		return fmt.Errorf("%w: iteration count %d: want at least 1", fail.ErrUsage, p.Iterations)
	}
	if p.KeySize < caamc.MinKeySize || p.KeySize > caamc.MaxKeySize {
		return fmt.Errorf("%w: key size %d: want %d..%d bytes", fail.ErrUsage, p.KeySize, caamc.MinKeySize, caamc.MaxKeySize)
	}
	if len(p.Salt) != 0 && len(p.Salt) != SaltLen {
		return fmt.Errorf("%w: salt is %d bytes: want %d", fail.ErrUsage, len(p.Salt), SaltLen)
	}
	return nil
}

// Derive computes key||IV = PBKDF2(passphrase, salt) and turns the key into
// a CAAM black key and blob stored as name (like `openssl enc -pbkdf2 -P`
// followed by `caam-keygen create NAME ENC -t KEY`). The passphrase and the
// red key are wiped before it returns. The same passphrase, salt, digest and
// iteration count always give the same red key, so a lost blob can be
// remade on the same device.
func Derive(kg Keygen, store *keystore.Store, name string, passphrase []byte, p DeriveParams) (*Derived, error) {
	defer Wipe(passphrase)
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("%w: the passphrase is empty", fail.ErrUsage)
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	h, err := Digest(p.Digest)
	if err != nil {
		return nil, err
	}
	salt, out, err := deriveNULFree(passphrase, p, h)
	if err != nil {
		return nil, err
	}
	defer Wipe(out)
	red, iv := out[:p.KeySize], append([]byte(nil), out[p.KeySize:]...)
	c, err := Create(kg, store, name, p.Enc, caamc.KeySpec{Plaintext: red}, p.Force)
	if err != nil {
		return nil, err
	}
	return &Derived{Created: *c, Salt: salt, IV: iv}, nil
}

// maxSaltTries bounds the search for a random salt whose key has no zero
// byte; each try fails with probability about 1-(255/256)^KeySize (12% for
// 32 bytes), so 64 tries all failing is below 1e-58.
const maxSaltTries = 64

// deriveNULFree runs PBKDF2 and returns the salt used and key||IV. The
// caam-keygen driver reads a "-t" plaintext key as a C string (caamc
// refuses a key with a zero byte rather than let the driver wrap a
// shorter one), so with a random salt it draws salts until the key has no
// zero byte; the printed salt is the one that worked. A salt the user gave
// that yields such a key is refused with that explanation.
func deriveNULFree(passphrase []byte, p DeriveParams, h func() hash.Hash) (salt, out []byte, err error) {
	random := p.Salt == nil
	for try := 0; try < maxSaltTries; try++ {
		salt = p.Salt
		if random {
			salt = make([]byte, SaltLen)
			if _, err := rand.Read(salt); err != nil {
				return nil, nil, fmt.Errorf("random salt: %w", err)
			}
		}
		out = pbkdf2.Key(passphrase, salt, p.Iterations, p.KeySize+IVLen, h)
		if bytes.IndexByte(out[:p.KeySize], 0) < 0 {
			return salt, out, nil
		}
		Wipe(out)
		if !random {
			return nil, nil, fmt.Errorf("%w: the key derived with this salt, digest and iteration count has a zero byte, "+
				"which the caam-keygen driver cannot take as a plaintext key; use another salt (or none given: a random one is chosen)",
				fail.ErrUsage)
		}
	}
	return nil, nil, fmt.Errorf("no salt in %d tries gave a key without zero bytes", maxSaltTries)
}
