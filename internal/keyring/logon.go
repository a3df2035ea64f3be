package keyring

import (
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Kernel limits: descriptions up to 4095 bytes; logon/user payloads 1..32767
// bytes (security/keys/user_defined.c user_preparse).
const (
	maxDescription = 4095
	maxPayload     = 32767
)

// ValidateLogonDescription checks a logon key description the way the
// kernel's logon key type does: it must be "<prefix>:<rest>" with a
// non-empty prefix (logon_vet_description refuses anything else with
// EINVAL), e.g. "caamcrypt:data" or the seed's "logkey:".
func ValidateLogonDescription(desc string) error {
	switch {
	case desc == "":
		return fmt.Errorf("keyring: logon key description is empty: %w", ErrInvalid)
	case len(desc) > maxDescription:
		return fmt.Errorf("keyring: logon key description is %d bytes, the kernel allows %d: %w", len(desc), maxDescription, ErrInvalid)
	case strings.ContainsAny(desc, "\x00 \t\n"):
		return fmt.Errorf("keyring: logon key description %q contains a blank or NUL (dm-crypt tables are split at blanks): %w", desc, ErrInvalid)
	case strings.IndexByte(desc, ':') <= 0:
		return fmt.Errorf("keyring: logon key description %q needs a \"<prefix>:\" such as \"caamcrypt:%s\" (the kernel's logon key type requires one): %w", desc, desc, ErrInvalid)
	}
	return nil
}

// AddLogon adds (or updates, if one with that description is already in
// ring) a logon key holding payload, and returns its serial. Thread is
// refused, and so are Session and Process when this process has none yet:
// the kernel would create one in the calling OS thread's credentials only
// (see DefaultRing).
func AddLogon(description string, payload []byte, ring Ring) (KeyID, error) {
	op := fmt.Sprintf("add logon key %q to %s", description, ring)
	if err := ValidateLogonDescription(description); err != nil {
		return 0, err
	}
	if len(payload) == 0 || len(payload) > maxPayload {
		return 0, &Error{Op: op, Err: fmt.Errorf("payload is %d bytes, want 1..%d: %w", len(payload), maxPayload, ErrInvalid)}
	}
	if err := usableForAdd(ring); err != nil {
		return 0, &Error{Op: op, Err: err}
	}
	id, err := unix.AddKey("logon", description, payload, int(ring))
	logrus.WithFields(logrus.Fields{"type": "logon", "description": description, "payload": fmt.Sprintf("<redacted %d bytes>", len(payload)), "ring": ring.String(), "id": id, "err": err}).Debug("keyring: add_key")
	if err != nil {
		return 0, &Error{Op: op, Err: err}
	}
	return KeyID(id), nil
}

// usableForAdd refuses keyrings a Go program cannot share between threads.
func usableForAdd(ring Ring) error {
	switch ring {
	case Thread:
		return fmt.Errorf("the thread keyring belongs to one OS thread, and Go moves goroutines between threads: use @u: %w", ErrInvalid)
	case Process:
		if _, err := unix.KeyctlGetKeyringID(int(Process), false); err != nil {
			return fmt.Errorf("this process has no process keyring, and one created now would be seen by the calling thread only: use @u: %w", ErrInvalid)
		}
	case Session:
		// Without a session keyring of its own, @s resolves to @us.
		s, err1 := unix.KeyctlGetKeyringID(int(Session), false)
		us, err2 := unix.KeyctlGetKeyringID(int(UserSession), false)
		if err1 != nil || (err2 == nil && s == us) {
			return fmt.Errorf("this process has no session keyring; adding to @s would create one for the calling thread only that dies with the process: use @u: %w", ErrInvalid)
		}
	}
	return nil
}

// Search looks for a key of keyType and description in ring and the
// keyrings linked from it (KEYCTL_SEARCH). No match is ErrNotFound.
func Search(keyType, description string, ring Ring) (KeyID, error) {
	id, err := unix.KeyctlSearch(int(ring), keyType, description, 0)
	logrus.WithFields(logrus.Fields{"type": keyType, "description": description, "ring": ring.String(), "id": id, "err": err}).Debug("keyring: keyctl search")
	if err != nil {
		return 0, &Error{Op: fmt.Sprintf("search %s key %q in %s", keyType, description, ring), Err: err}
	}
	return KeyID(id), nil
}

// Lookup finds a key the way dm-crypt will when this process loads a table:
// request_key(2) through the thread, process and session (or user-session)
// keyrings, with no upcall to /sbin/request-key. ErrNotFound here means a
// table naming this key would fail with ENOKEY.
func Lookup(keyType, description string) (KeyID, error) {
	op := fmt.Sprintf("look up %s key %q from this process", keyType, description)
	t, err := unix.BytePtrFromString(keyType)
	if err != nil {
		return 0, &Error{Op: op, Err: err}
	}
	d, err := unix.BytePtrFromString(description)
	if err != nil {
		return 0, &Error{Op: op, Err: err}
	}
	r, _, errno := unix.Syscall6(unix.SYS_REQUEST_KEY, uintptr(unsafe.Pointer(t)), uintptr(unsafe.Pointer(d)), 0, 0, 0, 0)
	logrus.WithFields(logrus.Fields{"type": keyType, "description": description, "id": int32(r), "errno": int(errno)}).Debug("keyring: request_key")
	if errno != 0 {
		return 0, &Error{Op: op, Err: errno}
	}
	return KeyID(r), nil
}

// Link links key id into ring (KEYCTL_LINK).
func Link(id KeyID, ring Ring) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_LINK, int(id), int(ring), 0, 0)
	logrus.WithFields(logrus.Fields{"id": id, "ring": ring.String(), "err": err}).Debug("keyring: keyctl link")
	if err != nil {
		return &Error{Op: fmt.Sprintf("link key %d into %s", id, ring), Err: err}
	}
	return nil
}

// Unlink removes key id from ring (KEYCTL_UNLINK); the key is destroyed
// once nothing links it. dm-crypt keeps its own copy of a loaded key, so
// unlinking after the table load is safe. Not linked there is ErrNotFound.
func Unlink(id KeyID, ring Ring) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_UNLINK, int(id), int(ring), 0, 0)
	logrus.WithFields(logrus.Fields{"id": id, "ring": ring.String(), "err": err}).Debug("keyring: keyctl unlink")
	if err != nil {
		return &Error{Op: fmt.Sprintf("unlink key %d from %s", id, ring), Err: err}
	}
	return nil
}

// Revoke revokes key id (KEYCTL_REVOKE): every later use fails with
// EKEYREVOKED and the kernel frees it soon after.
func Revoke(id KeyID) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_REVOKE, int(id), 0, 0, 0)
	logrus.WithFields(logrus.Fields{"id": id, "err": err}).Debug("keyring: keyctl revoke")
	if err != nil {
		return &Error{Op: fmt.Sprintf("revoke key %d", id), Err: err}
	}
	return nil
}

// Description is what KEYCTL_DESCRIBE tells about a key.
type Description struct {
	Type        string
	UID, GID    uint32
	Perm        uint32
	Description string
}

// Describe returns the type, owner, permissions and description of key id.
func Describe(id KeyID) (Description, error) {
	op := fmt.Sprintf("describe key %d", id)
	s, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, int(id))
	logrus.WithFields(logrus.Fields{"id": id, "result": s, "err": err}).Debug("keyring: keyctl describe")
	if err != nil {
		return Description{}, &Error{Op: op, Err: err}
	}
	d, err := parseDescribe(s)
	if err != nil {
		return Description{}, &Error{Op: op, Err: err}
	}
	return d, nil
}

// parseDescribe parses "<type>;<uid>;<gid>;<perm hex>;<description>"; the
// description may itself contain ';'.
func parseDescribe(s string) (Description, error) {
	f := strings.SplitN(s, ";", 5)
	if len(f) != 5 {
		return Description{}, fmt.Errorf("unexpected describe answer %q: %w", s, ErrInvalid)
	}
	uid, e1 := strconv.ParseUint(f[1], 10, 32)
	gid, e2 := strconv.ParseUint(f[2], 10, 32)
	perm, e3 := strconv.ParseUint(f[3], 16, 32)
	if e1 != nil || e2 != nil || e3 != nil {
		return Description{}, fmt.Errorf("unexpected describe answer %q: %w", s, ErrInvalid)
	}
	return Description{Type: f[0], UID: uint32(uid), GID: uint32(gid), Perm: uint32(perm), Description: f[4]}, nil
}

// MakeVisible makes sure dm-crypt, run from this process, will find key id
// (of keyType and description), which was added to ring. request_key
// searches the process's keyrings, whose session keyring normally links @u;
// where it does not (systemd's KeyringMode=private, `keyctl session`), ring
// itself is linked into the session keyring. Linking the key instead would
// not do: the process does not possess a key it reaches through no keyring
// of its own, and a logon key grants LINK only to a possessor (seen as
// EACCES). A keyring the user owns grants LINK to the user, and once it
// hangs off the session keyring, which the process possesses, so does
// everything in it (docs/caam-abi.md §6).
func MakeVisible(id KeyID, ring Ring, keyType, description string) error {
	op := fmt.Sprintf("make %s key %q visible to dm-crypt", keyType, description)
	if found, err := Lookup(keyType, description); err == nil && found == id {
		return nil
	}
	if ring == Session {
		return &Error{Op: op, Err: fmt.Errorf("the key is in the session keyring and request_key does not find it: %w", ErrNotFound)}
	}
	if err := usableForAdd(Session); err != nil {
		return &Error{Op: op, Err: fmt.Errorf("%w: %w", ErrNotFound, err)}
	}
	if err := Link(KeyID(ring), Session); err != nil {
		return err
	}
	if found, err := Lookup(keyType, description); err != nil {
		return err
	} else if found != id {
		return &Error{Op: op, Err: fmt.Errorf("request_key finds key %d, not %d: another key with this description shadows it: %w", found, id, ErrInvalid)}
	}
	return nil
}
