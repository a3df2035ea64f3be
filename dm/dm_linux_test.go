//go:build linux && cgo

package dm

// These tests drive a real device-mapper: they need root and
// device-mapper in the kernel (dm-mod loaded), so they run in the QEMU rig and skip
// on the build machine. Each test makes its own uniquely named devices and
// removes them, whatever happens.

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caamcrypt/caamcrypt/internal/keyring"
	"github.com/caamcrypt/caamcrypt/internal/testutil"
	"golang.org/x/sys/unix"
)

func requireDM(t *testing.T) {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireDeviceMapper(t)
}

func testName(role string) string {
	return fmt.Sprintf("caamcrypt-test-%s-%d", role, os.Getpid())
}

// mustCreate creates a device and registers its removal.
func mustCreate(t *testing.T, name string, targets []Target, opts CreateOptions) {
	t.Helper()
	if err := Create(name, targets, opts); err != nil {
		t.Fatalf("Create(%s): %v", name, err)
	}
	t.Cleanup(func() {
		if err := Remove(name, RemoveOptions{Force: true}); err != nil && !errors.Is(err, ErrNotFound) {
			t.Errorf("cleanup: Remove(%s): %v", name, err)
		}
	})
}

func isBlockNode(path string) bool {
	var st unix.Stat_t
	return unix.Stat(path, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK
}

func TestZeroDeviceLifecycle(t *testing.T) {
	requireDM(t)
	name := testName("zero")
	uuid := "CAAMCRYPT-TEST-" + name
	zero := []Target{{Start: 0, Length: 2048, Type: "zero"}}
	mustCreate(t, name, zero, CreateOptions{UUID: uuid})

	if !isBlockNode(NodePath(name)) {
		t.Fatalf("%s is not a block device node after Create", NodePath(name))
	}
	in, err := GetInfo(name)
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	if !in.Exists || in.Suspended || in.ReadOnly || in.TargetCount != 1 || in.UUID != uuid || in.OpenCount != 0 {
		t.Errorf("GetInfo = %+v", in)
	}
	if !nodeMatches(name, in.Major, in.Minor) {
		t.Errorf("node %s does not carry device %d:%d", NodePath(name), in.Major, in.Minor)
	}
	tbl, err := Table(name)
	if err != nil || !reflect.DeepEqual(tbl, zero) {
		t.Errorf("Table = %+v, %v; want %+v", tbl, err, zero)
	}
	st, err := Status(name)
	if err != nil || len(st) != 1 || st[0].Type != "zero" || st[0].Length != 2048 {
		t.Errorf("Status = %+v, %v", st, err)
	}
	list, err := List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	found := false
	for _, d := range list {
		if d.Name == name {
			found = d.Major == in.Major && d.Minor == in.Minor
		}
	}
	if !found {
		t.Errorf("List %+v lacks %s (%d:%d)", list, name, in.Major, in.Minor)
	}
	vers, err := Versions()
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	if _, ok := FindTarget(vers, "zero"); !ok {
		t.Errorf("Versions %+v lacks the zero target we just used", vers)
	}

	err = Create(name, zero, CreateOptions{})
	if !errors.Is(err, ErrExists) || !errors.Is(err, unix.EEXIST) {
		t.Errorf("second Create = %v, want ErrExists/EEXIST", err)
	}
	if in2, _ := GetInfo(name); in2.Major != in.Major || in2.Minor != in.Minor {
		t.Errorf("failed second Create disturbed the device: %+v", in2)
	}

	if err := Remove(name, RemoveOptions{}); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := os.Lstat(NodePath(name)); !os.IsNotExist(err) {
		t.Errorf("node still there after Remove: %v", err)
	}
	if in, err := GetInfo(name); err != nil || in.Exists {
		t.Errorf("GetInfo after Remove = %+v, %v", in, err)
	}
	if err := Remove(name, RemoveOptions{Retries: -1}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove of a missing device = %v, want ErrNotFound", err)
	}
	if _, err := Table(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Table of a missing device = %v, want ErrNotFound", err)
	}
	if _, err := Status(name); !errors.Is(err, ErrNotFound) {
		t.Errorf("Status of a missing device = %v, want ErrNotFound", err)
	}
}

func TestReadOnlyAndMultiTarget(t *testing.T) {
	requireDM(t)
	name := testName("ro")
	tbl := []Target{{Start: 0, Length: 1024, Type: "zero"}, {Start: 1024, Length: 1024, Type: "error"}}
	mustCreate(t, name, tbl, CreateOptions{ReadOnly: true})
	in, err := GetInfo(name)
	if err != nil || !in.ReadOnly || in.TargetCount != 2 {
		t.Errorf("GetInfo = %+v, %v; want read-only with 2 targets", in, err)
	}
	got, err := Table(name)
	if err != nil || !reflect.DeepEqual(got, tbl) {
		t.Errorf("Table = %+v, %v; want %+v", got, err, tbl)
	}
}

func TestBusyDeferredAndForcedRemove(t *testing.T) {
	requireDM(t)
	lower := testName("lower")
	upper := testName("upper")
	mustCreate(t, lower, []Target{{Length: 2048, Type: "zero"}}, CreateOptions{})
	mustCreate(t, upper, []Target{{Length: 2048, Type: "linear", Params: NodePath(lower) + " 0"}}, CreateOptions{})

	// The linear device holds the zero device open.
	start := time.Now()
	err := Remove(lower, RemoveOptions{Retries: 2})
	if !errors.Is(err, unix.EBUSY) {
		t.Fatalf("Remove of a held device = %v, want EBUSY", err)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Errorf("Remove with 2 retries gave up after %s; expected backoff pauses", time.Since(start))
	}

	// Deferred: accepted now, done when the holder goes.
	f, err := os.Open(NodePath(upper))
	if err != nil {
		t.Fatalf("open %s: %v", NodePath(upper), err)
	}
	if err := Remove(upper, RemoveOptions{Deferred: true, Retries: -1}); err != nil {
		f.Close()
		t.Fatalf("deferred Remove: %v", err)
	}
	in, err := GetInfo(upper)
	if err != nil || !in.Exists || !in.DeferredRemove || in.OpenCount != 1 {
		t.Errorf("GetInfo while deferred = %+v, %v", in, err)
	}
	f.Close()
	if !pollUntil(3*time.Second, func() bool { in, err := GetInfo(upper); return err == nil && !in.Exists }) {
		t.Errorf("deferred removal of %s did not happen after close", upper)
	}

	// Force: an open device gets an error table even though it stays.
	f, err = os.Open(NodePath(lower))
	if err != nil {
		t.Fatalf("open %s: %v", NodePath(lower), err)
	}
	err = Remove(lower, RemoveOptions{Retries: -1, Force: true})
	tbl, terr := Table(lower)
	f.Close()
	if !errors.Is(err, unix.EBUSY) {
		t.Errorf("forced Remove of an open device = %v, want EBUSY", err)
	}
	if terr != nil || len(tbl) != 1 || tbl[0].Type != "error" || tbl[0].Length != 2048 {
		t.Errorf("table after forced Remove = %+v, %v; want one error target", tbl, terr)
	}
	if err := Remove(lower, RemoveOptions{}); err != nil {
		t.Errorf("Remove after close: %v", err)
	}
}

// requireCrypt skips unless the dm-crypt target is loaded (the rig loads it).
func requireCrypt(t *testing.T) {
	t.Helper()
	vers, err := Versions()
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	if _, ok := FindTarget(vers, "crypt"); !ok {
		t.Skip("dm-crypt target not loaded (modprobe dm-crypt)")
	}
}

func TestCryptTableRedacted(t *testing.T) {
	requireDM(t)
	requireCrypt(t)
	lower := testName("cz")
	name := testName("chex")
	mustCreate(t, lower, []Target{{Length: 2048, Type: "zero"}}, CreateOptions{})
	key := strings.Repeat("4b", 16) // AES-128
	p := CryptParams{Cipher: "capi:cbc(aes)-plain", Key: key, Device: NodePath(lower), Options: []string{"sector_size:4096"}}
	mustCreate(t, name, []Target{{Length: 2048, Type: "crypt", Params: p.String()}}, CreateOptions{})
	tbl, err := Table(name)
	if err != nil || len(tbl) != 1 {
		t.Fatalf("Table = %+v, %v", tbl, err)
	}
	if strings.Contains(tbl[0].Params, key) || !strings.Contains(tbl[0].Params, Redacted) {
		t.Errorf("Table params not redacted: %q", tbl[0].Params)
	}
	got, err := ParseCryptParams(tbl[0].Params)
	if err != nil || got.Cipher != p.Cipher {
		t.Errorf("kernel table %q parsed to %+v, %v", tbl[0].Params, got, err)
	}
	if ss, _ := got.SectorSize(); ss != 4096 {
		t.Errorf("kernel table %q lost sector_size:4096", tbl[0].Params)
	}
}

func TestCryptKeyringKeyAndENOKEY(t *testing.T) {
	requireDM(t)
	requireCrypt(t)
	lower := testName("kz")
	name := testName("ckey")
	mustCreate(t, lower, []Target{{Length: 2048, Type: "zero"}}, CreateOptions{})

	desc := fmt.Sprintf("caamcrypt-test:%d", os.Getpid())
	id, err := keyring.AddLogon(desc, []byte(strings.Repeat("k", 32)), keyring.DefaultRing)
	if err != nil {
		t.Fatalf("AddLogon: %v", err)
	}
	t.Cleanup(func() { _ = keyring.Unlink(id, keyring.DefaultRing) })

	spec := LogonKeySpec(32, desc)
	p := CryptParams{Cipher: "capi:cbc(aes)-plain", Key: spec, Device: NodePath(lower), Options: []string{"sector_size:512"}}
	mustCreate(t, name, []Target{{Length: 2048, Type: "crypt", Params: p.String()}}, CreateOptions{})
	tbl, err := Table(name)
	if err != nil || len(tbl) != 1 || !strings.Contains(tbl[0].Params, spec) {
		t.Errorf("Table = %+v, %v; want the keyring spec %q kept", tbl, err, spec)
	}
	// dm-crypt holds its own copy: the key may go now.
	if err := keyring.Unlink(id, keyring.DefaultRing); err != nil {
		t.Errorf("Unlink after load: %v", err)
	}
	if err := Remove(name, RemoveOptions{}); err != nil {
		t.Fatalf("Remove: %v", err)
	}

	// A key nobody added: the kernel's ENOKEY must reach us, and the
	// half-made device must be gone.
	missing := name + "-nokey"
	p.Key = LogonKeySpec(32, desc+"-missing")
	err = Create(missing, []Target{{Length: 2048, Type: "crypt", Params: p.String()}}, CreateOptions{})
	if !errors.Is(err, unix.ENOKEY) {
		t.Errorf("Create with a missing key = %v, want ENOKEY", err)
	}
	if err != nil && !strings.Contains(err.Error(), "load table") {
		t.Errorf("error %q does not name the failing step", err)
	}
	if in, err := GetInfo(missing); err != nil || in.Exists {
		t.Errorf("half-made device left behind: %+v, %v", in, err)
		_ = Remove(missing, RemoveOptions{})
	}
}
