package keyring

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// envPrivateSession makes the test binary, run again as a child, join a new
// anonymous session keyring (one that does not link @u, like a systemd
// service with KeyringMode=private) before running the test.
const envPrivateSession = "CAAMCRYPT_TEST_PRIVATE_SESSION"

// In a session keyring that does not link @u, request_key does not find a
// key added to @u, and the process does not possess it, so it may not link
// the key itself; MakeVisible must still make dm-crypt's lookup find it.
// Runs where the kernel has keyrings (in the QEMU rig's package tests).
func TestMakeVisibleInPrivateSession(t *testing.T) {
	requireKeyctl(t)
	if os.Getenv(envPrivateSession) == "" {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(exe, "-test.run", "^TestMakeVisibleInPrivateSession$", "-test.v")
		cmd.Env = append(os.Environ(), envPrivateSession+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("in a private session keyring: %v\n%s", err, out)
		}
		return
	}
	// One OS thread from here on: a joined session keyring is installed in
	// the calling thread's credentials.
	runtime.LockOSThread()
	// KEYCTL_JOIN_SESSION_KEYRING with a NULL name: a new anonymous
	// session keyring (x/sys's wrapper always passes a name).
	if _, _, errno := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0); errno != 0 {
		t.Fatalf("join a new anonymous session keyring: %v", errno)
	}
	desc := uniqueDescription()
	id, err := AddLogon(desc, []byte("0123456789abcdef0123456789abcdef0123"), User)
	if err != nil {
		t.Fatalf("AddLogon: %v", err)
	}
	t.Cleanup(func() { _ = Unlink(id, User) })
	if got, err := Lookup("logon", desc); err == nil && got == id {
		t.Fatal("request_key found the key before MakeVisible: the session keyring links @u, so this test proves nothing")
	}
	if err := Link(id, Session); err == nil {
		t.Error("linking an unpossessed logon key succeeded; the kernel was expected to refuse (EACCES)")
	}
	if err := MakeVisible(id, User, "logon", desc); err != nil {
		t.Fatalf("MakeVisible: %v", err)
	}
	if got, err := Lookup("logon", desc); err != nil || got != id {
		t.Errorf("Lookup after MakeVisible = %v, %v; want %v", got, err, id)
	}
}
