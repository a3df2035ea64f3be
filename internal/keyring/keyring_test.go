package keyring

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/testutil"
	"golang.org/x/sys/unix"
)

func TestParseRing(t *testing.T) {
	cases := map[string]Ring{
		"@t": Thread, "thread": Thread,
		"@p": Process, "process": Process,
		"@s": Session, "Session": Session,
		"@u": User, "user": User, " @u ": User,
		"@us": UserSession, "user-session": UserSession,
		"779891468": Ring(779891468),
	}
	for in, want := range cases {
		got, err := ParseRing(in)
		if err != nil || got != want {
			t.Errorf("ParseRing(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "@x", "users", "0", "-4", "99999999999"} {
		if _, err := ParseRing(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRing(%q) = %v, want ErrInvalid", in, err)
		}
	}
	for _, r := range []Ring{Thread, Process, Session, User, UserSession, Ring(42)} {
		back, err := ParseRing(r.String())
		if err != nil || back != r {
			t.Errorf("ParseRing(%q) = %v, %v; want %v", r.String(), back, err, int32(r))
		}
	}
	if DefaultRing != User || int32(User) != unix.KEY_SPEC_USER_KEYRING {
		t.Errorf("DefaultRing = %v, want @u (%d)", DefaultRing, unix.KEY_SPEC_USER_KEYRING)
	}
}

func TestValidateLogonDescription(t *testing.T) {
	for _, d := range []string{"logkey:", "caamcrypt:data", "a:b:c"} {
		if err := ValidateLogonDescription(d); err != nil {
			t.Errorf("ValidateLogonDescription(%q): %v", d, err)
		}
	}
	for _, d := range []string{"", "logkey", ":logkey", "cc:has space", "cc:nul\x00", "p:" + strings.Repeat("x", maxDescription)} {
		if err := ValidateLogonDescription(d); !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateLogonDescription(%q) = %v, want ErrInvalid", d, err)
		}
	}
	if err := ValidateLogonDescription("logkey"); err == nil || !strings.Contains(err.Error(), "prefix") {
		t.Errorf("missing-prefix error should say so: %v", err)
	}
}

func TestAddLogonRefusesBeforeKernel(t *testing.T) {
	if _, err := AddLogon("caamcrypt:x", []byte("k"), Thread); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddLogon to @t = %v, want ErrInvalid", err)
	}
	if _, err := AddLogon("caamcrypt:x", nil, User); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddLogon with empty payload = %v, want ErrInvalid", err)
	}
	if _, err := AddLogon("caamcrypt:x", make([]byte, maxPayload+1), User); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddLogon with oversized payload = %v, want ErrInvalid", err)
	}
	if _, err := AddLogon("noprefix", []byte("k"), User); !errors.Is(err, ErrInvalid) {
		t.Errorf("AddLogon without prefix = %v, want ErrInvalid", err)
	}
}

func TestParseDescribe(t *testing.T) {
	d, err := parseDescribe("logon;0;0;3f010000;caamcrypt:a;b")
	if err != nil {
		t.Fatal(err)
	}
	want := Description{Type: "logon", UID: 0, GID: 0, Perm: 0x3f010000, Description: "caamcrypt:a;b"}
	if d != want {
		t.Errorf("parseDescribe = %+v, want %+v", d, want)
	}
	for _, s := range []string{"", "logon;0;0;3f010000", "logon;x;0;1;d", "logon;0;0;zz;d"} {
		if _, err := parseDescribe(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("parseDescribe(%q) = %v, want ErrInvalid", s, err)
		}
	}
}

func TestErrorMatching(t *testing.T) {
	if e := (&Error{Op: "search", Err: unix.ENOKEY}); !errors.Is(e, ErrNotFound) || !errors.Is(e, unix.ENOKEY) {
		t.Errorf("ENOKEY should match ErrNotFound and itself: %v", e)
	}
	if e := (&Error{Op: "unlink", Err: unix.ENOENT}); !errors.Is(e, ErrNotFound) {
		t.Errorf("ENOENT should match ErrNotFound: %v", e)
	}
	if e := (&Error{Op: "add", Err: unix.EDQUOT}); errors.Is(e, ErrNotFound) || !strings.Contains(e.Error(), "quota") {
		t.Errorf("EDQUOT: %v", e)
	}
}

// requireKeyctl skips unless this kernel lets us use the user keyring (no
// CONFIG_KEYS, or a seccomp profile that blocks keyctl, as Docker's does).
func requireKeyctl(t *testing.T) {
	t.Helper()
	testutil.RequirePath(t, "/proc/keys", "kernel key management, CONFIG_KEYS")
	if _, err := unix.KeyctlGetKeyringID(int(User), false); err != nil {
		t.Skipf("keyctl on the user keyring is not available here: %v", err)
	}
}

func uniqueDescription() string {
	return fmt.Sprintf("caamcrypt-test:%d-%d", os.Getpid(), time.Now().UnixNano())
}

func TestLogonKeyLifecycle(t *testing.T) {
	requireKeyctl(t)
	desc := uniqueDescription()
	payload := []byte("0123456789abcdef0123456789abcdef0123") // 36 bytes, like a tagged black key
	id, err := AddLogon(desc, payload, User)
	if err != nil {
		t.Fatalf("AddLogon: %v", err)
	}
	t.Cleanup(func() { _ = Unlink(id, User) })

	d, err := Describe(id)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if d.Type != "logon" || d.Description != desc || d.UID != uint32(os.Geteuid()) {
		t.Errorf("Describe = %+v", d)
	}
	if got, err := Search("logon", desc, User); err != nil || got != id {
		t.Errorf("Search = %v, %v; want %v", got, err, id)
	}
	// Adding the same description again updates the key in place.
	again, err := AddLogon(desc, []byte("another payload of the key, updated!"), User)
	if err != nil || again != id {
		t.Errorf("re-AddLogon = %v, %v; want the same key %v", again, err, id)
	}
	// A logon key's payload cannot be read back from user space.
	if _, err := unix.KeyctlBuffer(unix.KEYCTL_READ, int(id), make([]byte, 64), 0); err == nil {
		t.Error("reading a logon key's payload succeeded; it must be refused")
	}
	// dm-crypt's view: request_key from this process must find the key.
	if err := MakeVisible(id, User, "logon", desc); err != nil {
		t.Errorf("MakeVisible: %v", err)
	}
	if got, err := Lookup("logon", desc); err != nil || got != id {
		t.Errorf("Lookup = %v, %v; want %v", got, err, id)
	}

	if err := Unlink(id, User); err != nil {
		t.Fatalf("Unlink: %v", err)
	}
	if _, err := Search("logon", desc, User); !errors.Is(err, ErrNotFound) {
		t.Errorf("Search after Unlink = %v, want ErrNotFound", err)
	}
	if err := Unlink(id, User); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Unlink = %v, want ErrNotFound", err)
	}
}

func TestRevoke(t *testing.T) {
	requireKeyctl(t)
	desc := uniqueDescription()
	id, err := AddLogon(desc, []byte("revoke me"), User)
	if err != nil {
		t.Fatalf("AddLogon: %v", err)
	}
	t.Cleanup(func() { _ = Unlink(id, User) })
	if err := Revoke(id); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := Describe(id); !errors.Is(err, unix.EKEYREVOKED) {
		t.Errorf("Describe after Revoke = %v, want EKEYREVOKED", err)
	}
	if _, err := Lookup("logon", desc); err == nil {
		t.Error("Lookup found a revoked key")
	}
}

func TestSearchMissing(t *testing.T) {
	requireKeyctl(t)
	if _, err := Search("logon", uniqueDescription(), User); !errors.Is(err, ErrNotFound) {
		t.Errorf("Search for a missing key = %v, want ErrNotFound", err)
	}
	if _, err := Lookup("logon", uniqueDescription()); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup for a missing key = %v, want ErrNotFound", err)
	}
}

func TestAddLogonRefusesImplicitSessionKeyring(t *testing.T) {
	requireKeyctl(t)
	s, err1 := unix.KeyctlGetKeyringID(int(Session), false)
	us, err2 := unix.KeyctlGetKeyringID(int(UserSession), false)
	if err1 != nil || err2 != nil || s != us {
		t.Skip("this process has its own session keyring; the refusal applies only without one")
	}
	if _, err := AddLogon(uniqueDescription(), []byte("k"), Session); !errors.Is(err, ErrInvalid) {
		t.Fatalf("AddLogon to @s without a session keyring = %v, want ErrInvalid", err)
	}
	if after, _ := unix.KeyctlGetKeyringID(int(Session), false); after != s {
		t.Errorf("a session keyring was created (%d, was %d)", after, s)
	}
}
