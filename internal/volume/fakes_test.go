package volume

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keyring"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// world is a fake system: a recorder of every collaborator call, failure
// injection by call name, and fakes that behave like the kernel closely
// enough for the flows to be tested (the fake dm-crypt really transforms
// data with the key from the fake keyring, so a wrong key reads garbage).
type world struct {
	t   *testing.T
	dir string

	mu     sync.Mutex
	calls  []string
	failAt map[string]error
	onCall func(name string) // run (without mu) on every call, e.g. to cancel a context

	keys    *fakeKeys
	store   *fakeStore
	mapper  *fakeMapper
	ring    *fakeRing
	fs      *fakeFS
	mounter *fakeMounter
	devices *fakeDevices
}

// call records name and returns the failure injected for it, if any.
func (w *world) call(name string) error {
	w.mu.Lock()
	w.calls = append(w.calls, name)
	err, hook := w.failAt[name], w.onCall
	w.mu.Unlock()
	if hook != nil {
		hook(name)
	}
	return err
}

// callsSince returns the calls recorded after index i.
func (w *world) callsSince(i int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.calls[i:]...)
}

func (w *world) ncalls() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.calls)
}

func (w *world) inject(name string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failAt[name] = err
}

func (w *world) clearFailures() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failAt = map[string]error{}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, dir: dir, failAt: map[string]error{}}
	w.keys = &fakeKeys{w: w}
	w.store = &fakeStore{w: w, blobs: map[string][]byte{}}
	w.ring = &fakeRing{w: w, keys: map[keyring.KeyID]fakeKey{}}
	w.mapper = &fakeMapper{w: w, dir: filepath.Join(dir, "mapper"), maps: map[string]*fakeMap{}}
	w.fs = &fakeFS{w: w}
	w.mounter = &fakeMounter{w: w, mounts: map[string][]string{}}
	w.devices = &fakeDevices{w: w, inUse: map[string][]probe.Finding{}}
	if err := os.MkdirAll(w.mapper.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return w
}

// manager builds a Manager on the fakes with a real flock locker.
func (w *world) manager() *Manager {
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	log.SetOutput(testWriter{w.t})
	return newManager(Config{KeyDir: filepath.Join(w.dir, "keys"), Log: log}, deps{
		keys: w.keys, store: w.store, mapper: w.mapper, ring: w.ring, fs: w.fs,
		mounter: w.mounter, locker: &flockLocker{dir: filepath.Join(w.dir, "lock")}, devices: w.devices,
		kernel: fakeKernel{w},
	})
}

// disk makes a zeroed image file of size bytes to serve as a device.
func (w *world) disk(name string, size int64) string {
	w.t.Helper()
	p := filepath.Join(w.dir, name)
	f, err := os.Create(p)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		w.t.Fatal(err)
	}
	f.Close()
	return p
}

type testWriter struct{ t *testing.T }

func (tw testWriter) Write(p []byte) (int, error) {
	tw.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// ---- KeySource ----

// fakeKeys makes well-formed tagged objects. Its "CAAM" seals a red key
// into a blob as-is (the blob data starts with the red key), and Import
// returns a black key whose data is the red key, XORed with boot when
// stale is set: like an ECB black key from an earlier boot, a different key
// without any error (docs/caam-abi.md §5).
type fakeKeys struct {
	w       *world
	stale   bool
	foreign bool          // Import fails its ICV check
	delay   time.Duration // slow Import, to widen race windows
}

func tagged(typ caamc.ObjType, redLen int, data []byte) []byte {
	t := caamc.Tag{Magic: caamc.TagMagic, Type: typ, RedKeyLen: uint32(redLen), ObjLen: uint32(len(data))}
	return append(t.AppendTo(nil), data...)
}

func (k *fakeKeys) Create(enc caamc.Encryption, size int) ([]byte, []byte, error) {
	if err := k.w.call("keys.Create"); err != nil {
		return nil, nil, err
	}
	red := make([]byte, size)
	rand.Read(red)
	return k.black(enc, red), k.blob(enc, red), nil
}

func typeOf(enc caamc.Encryption) caamc.ObjType {
	if enc == caamc.CCM {
		return 9
	}
	return 1
}

func (k *fakeKeys) black(enc caamc.Encryption, red []byte) []byte {
	data := make([]byte, caamc.BlackKeySize(enc, len(red)))
	copy(data, red)
	return tagged(typeOf(enc), len(red), data)
}

func (k *fakeKeys) blob(enc caamc.Encryption, red []byte) []byte {
	data := make([]byte, caamc.BlobSize(len(red)))
	copy(data, red)
	return tagged(typeOf(enc), len(red), data)
}

func (k *fakeKeys) Import(blob []byte) ([]byte, error) {
	if err := k.w.call("keys.Import"); err != nil {
		return nil, err
	}
	time.Sleep(k.delay)
	if k.foreign {
		return nil, &caamc.KernelError{Op: "import", Device: "/dev/caam-keygen", Errno: syscall.EBADMSG}
	}
	o, err := caamc.ParseObject(blob)
	if err != nil {
		return nil, err
	}
	red := append([]byte(nil), o.Data[:o.Tag.RedKeyLen]...)
	if k.stale {
		for i := range red {
			red[i] ^= 0x5a
		}
	}
	return k.black(o.Encryption(), red), nil
}

// ---- KeyStore ----

type fakeStore struct {
	w     *world
	blobs map[string][]byte
}

func (s *fakeStore) SaveNew(name string, black, blob []byte) error {
	if err := s.w.call("store.SaveNew " + name); err != nil {
		return err
	}
	if _, ok := s.blobs[name]; ok {
		return fmt.Errorf("%w: key %s exists", fail.ErrRefused, name)
	}
	s.blobs[name] = append([]byte(nil), blob...)
	return nil
}

func (s *fakeStore) LoadBlob(name string) ([]byte, error) {
	if err := s.w.call("store.LoadBlob " + name); err != nil {
		return nil, err
	}
	b, ok := s.blobs[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s.bb", fail.ErrNotFound, name)
	}
	return b, nil
}

func (s *fakeStore) Remove(name string) error {
	if err := s.w.call("store.Remove " + name); err != nil {
		return err
	}
	delete(s.blobs, name)
	return nil
}

// ---- Keyring ----

type fakeKey struct {
	desc    string
	payload []byte
}

type fakeRing struct {
	w          *world
	failPrefix string // AddLogon of a description with this prefix fails
	next       keyring.KeyID
	keys       map[keyring.KeyID]fakeKey
}

func (r *fakeRing) AddLogon(desc string, payload []byte, ring keyring.Ring) (keyring.KeyID, error) {
	if err := r.w.call("ring.AddLogon " + desc); err != nil {
		return 0, err
	}
	if r.failPrefix != "" && strings.HasPrefix(desc, r.failPrefix) {
		return 0, errInjected
	}
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	for id, k := range r.keys { // add_key updates a key of the same description
		if k.desc == desc {
			r.keys[id] = fakeKey{desc, append([]byte(nil), payload...)}
			return id, nil
		}
	}
	r.next++
	r.keys[r.next] = fakeKey{desc, append([]byte(nil), payload...)}
	return r.next, nil
}

func (r *fakeRing) find(desc string) (keyring.KeyID, []byte, bool) {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	for id, k := range r.keys {
		if k.desc == desc {
			return id, k.payload, true
		}
	}
	return 0, nil, false
}

func (r *fakeRing) Search(keyType, desc string, ring keyring.Ring) (keyring.KeyID, error) {
	if err := r.w.call("ring.Search " + desc); err != nil {
		return 0, err
	}
	if id, _, ok := r.find(desc); ok {
		return id, nil
	}
	return 0, &keyring.Error{Op: "search", Err: unix.ENOKEY}
}

func (r *fakeRing) Unlink(id keyring.KeyID, ring keyring.Ring) error {
	if err := r.w.call("ring.Unlink"); err != nil {
		return err
	}
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	if _, ok := r.keys[id]; !ok {
		return &keyring.Error{Op: "unlink", Err: unix.ENOENT}
	}
	delete(r.keys, id)
	return nil
}

func (r *fakeRing) count() int {
	r.w.mu.Lock()
	defer r.w.mu.Unlock()
	return len(r.keys)
}

// fakeKernel has every feature unless "kernel.CryptReady" is injected (a
// read-only check: not recorded as a call).
type fakeKernel struct{ w *world }

func (k fakeKernel) CryptReady(string) error {
	k.w.mu.Lock()
	defer k.w.mu.Unlock()
	return k.w.failAt["kernel.CryptReady"]
}
