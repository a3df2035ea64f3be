package caamc

import (
	"fmt"
	"strings"
)

// Encryption is how the CAAM encrypts a black key with the JDKEK (tag type
// bit 3): AES-ECB, or AES-CCM which adds a 12-byte nonce+ICV overhead and is
// integrity-checked on use.
type Encryption uint8

const (
	// ECB black keys: no integrity check, so a stale key decrypts to a
	// different key silently (docs/caam-abi.md §5). Seed default.
	ECB Encryption = 0
	// CCM black keys: authenticated, a stale key fails its ICV check.
	CCM Encryption = 1
)

// String returns the driver's spelling, "ecb" or "ccm" (the key_enc string).
func (e Encryption) String() string {
	switch e {
	case ECB:
		return "ecb"
	case CCM:
		return "ccm"
	}
	return fmt.Sprintf("Encryption(%d)", uint8(e))
}

// ParseEncryption accepts "ecb" or "ccm" (any case, surrounding space
// ignored); anything else wraps ErrBadEncryption.
func ParseEncryption(s string) (Encryption, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ecb":
		return ECB, nil
	case "ccm":
		return CCM, nil
	}
	return 0, fmt.Errorf("%w: %q (expected ecb or ccm)", ErrBadEncryption, s)
}

func (e Encryption) validate() error {
	if e != ECB && e != CCM {
		return fmt.Errorf("%w: %v (expected ecb or ccm)", ErrBadEncryption, e)
	}
	return nil
}
