package caamc

import "fmt"

// checkOutput validates an object the driver returned: it must parse, be
// of the expected kind, encryption and red length. A failure means the
// driver and docs/caam-abi.md §3 disagree; better to stop than write a file that
// later fails to import.
func checkOutput(op, device string, b []byte, want Kind, enc Encryption, redLen int) error {
	t, err := checkObject(b) // not ParseObject: that would copy the key
	if err != nil {
		return fmt.Errorf("caam-keygen %s on %s returned an unusable %s: %w", op, device, want, err)
	}
	if kind, _ := kindOf(t); kind != want || t.Type.Encryption() != enc || int(t.RedKeyLen) != redLen {
		return fmt.Errorf("caam-keygen %s on %s: %w: asked for a %s of a %d-byte %s key, got a %s of a %d-byte %s key",
			op, device, ErrBadTag, want, redLen, enc, kind, t.RedKeyLen, t.Type.Encryption())
	}
	return nil
}
