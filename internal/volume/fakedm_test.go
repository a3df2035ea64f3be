package volume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/probe"
)

// ---- Mapper: a fake dm-crypt ----

type fakeMap struct {
	target dm.Target
	params dm.CryptParams
	opts   dm.CreateOptions
	key    []byte
	node   string
	busy   bool
}

type fakeMapper struct {
	w    *world
	dir  string
	maps map[string]*fakeMap
}

// xor "encrypts" data at byte offset off of the mapping with the key: enough
// for a wrong key to read something else than what was written.
func xor(data, key []byte, off int64) {
	for i := range data {
		data[i] ^= key[(off+int64(i))%int64(len(key))] ^ 0xa5
	}
}

func (m *fakeMapper) Create(name string, targets []dm.Target, opts dm.CreateOptions) error {
	if err := m.w.call("mapper.Create " + name); err != nil {
		return err
	}
	m.w.mu.Lock()
	_, exists := m.maps[name]
	m.w.mu.Unlock()
	if exists {
		return &dm.Error{Op: "create", Name: name, Err: unix.EEXIST}
	}
	if len(targets) != 1 || targets[0].Type != "crypt" {
		return &dm.Error{Op: "create", Name: name, Err: unix.EINVAL}
	}
	p, err := dm.ParseCryptParams(targets[0].Params)
	if err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	k, err := dm.ParseKeyringKey(p.Key)
	if err != nil {
		return err
	}
	_, payload, ok := m.w.ring.find(k.Description)
	if !ok {
		return &dm.Error{Op: "create", Target: "crypt", Name: name, Err: unix.ENOKEY}
	}
	if len(payload) != k.Size {
		return &dm.Error{Op: "create", Target: "crypt", Name: name, Err: unix.EINVAL}
	}
	raw, err := os.ReadFile(p.Device)
	if err != nil {
		return err
	}
	start, n := int64(p.Offset)*512, int64(targets[0].Length)*512
	if start+n > int64(len(raw)) {
		return &dm.Error{Op: "create", Target: "crypt", Name: name, Err: unix.EINVAL}
	}
	plain := append([]byte(nil), raw[start:start+n]...)
	xor(plain, payload, 0)
	node := filepath.Join(m.dir, name)
	if err := os.WriteFile(node, plain, 0o600); err != nil {
		return err
	}
	m.w.mu.Lock()
	m.maps[name] = &fakeMap{target: targets[0], params: p, opts: opts, key: append([]byte(nil), payload...), node: node}
	m.w.mu.Unlock()
	return nil
}

func (m *fakeMapper) get(name string) *fakeMap {
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	return m.maps[name]
}

// Remove writes a read-write mapping's node back through the "cipher".
func (m *fakeMapper) Remove(name string, opts dm.RemoveOptions) error {
	if err := m.w.call("mapper.Remove " + name); err != nil {
		return err
	}
	fm := m.get(name)
	if fm == nil {
		return &dm.Error{Op: "remove", Name: name, Err: unix.ENXIO}
	}
	m.w.mu.Lock()
	mounted := len(m.w.mounter.mounts[fm.node]) > 0
	m.w.mu.Unlock()
	if fm.busy || mounted { // the kernel refuses to remove a mounted mapping
		return &dm.Error{Op: "remove", Name: name, Err: unix.EBUSY}
	}
	if !fm.opts.ReadOnly {
		data, err := os.ReadFile(fm.node)
		if errors.Is(err, os.ErrNotExist) {
			data = nil // node lost (a killed run): the fake has nothing to write back
		} else if err != nil {
			return err
		}
		xor(data, fm.key, 0)
		f, err := os.OpenFile(fm.params.Device, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		_, err = f.WriteAt(data, int64(fm.params.Offset)*512)
		f.Close()
		if err != nil {
			return err
		}
	}
	os.Remove(fm.node)
	m.w.mu.Lock()
	delete(m.maps, name)
	m.w.mu.Unlock()
	return nil
}

func (m *fakeMapper) Info(name string) (dm.Info, error) {
	fm := m.get(name)
	if fm == nil {
		return dm.Info{}, nil
	}
	var open int32
	if fm.busy {
		open = 1
	}
	return dm.Info{Exists: true, ReadOnly: fm.opts.ReadOnly, UUID: fm.opts.UUID, TargetCount: 1, OpenCount: open}, nil
}

func (m *fakeMapper) Table(name string) ([]dm.Target, error) {
	fm := m.get(name)
	if fm == nil {
		return nil, &dm.Error{Op: "get table of", Name: name, Err: unix.ENXIO}
	}
	return []dm.Target{fm.target}, nil
}

func (m *fakeMapper) List() ([]dm.DeviceEntry, error) {
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	var out []dm.DeviceEntry
	for n := range m.maps {
		out = append(out, dm.DeviceEntry{Name: n})
	}
	slices.SortFunc(out, func(a, b dm.DeviceEntry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *fakeMapper) NodePath(name string) string { return filepath.Join(m.dir, name) }

func (m *fakeMapper) names() []string {
	es, _ := m.List()
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

// ---- Filesystem ----

const fakeFSMagic = "FAKEEXT4"

type fakeFS struct {
	w    *world
	fsck FsckResult
}

// CheckMkfs only reads (it is not recorded as a call): a test injects its
// failure under "fs.CheckMkfs".
func (f *fakeFS) CheckMkfs(ctx context.Context, fstype string) error {
	f.w.mu.Lock()
	defer f.w.mu.Unlock()
	return f.w.failAt["fs.CheckMkfs"]
}

func (f *fakeFS) Mkfs(ctx context.Context, dev, fstype, label string) error {
	if err := f.w.call("fs.Mkfs"); err != nil {
		return err
	}
	fd, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer fd.Close()
	_, err = fd.WriteAt([]byte(fakeFSMagic), 0)
	return err
}

func (f *fakeFS) Fsck(ctx context.Context, dev, fstype string) (FsckResult, error) {
	return f.fsck, f.w.call("fs.Fsck")
}

func (f *fakeFS) Detect(dev string) (string, error) {
	b := make([]byte, len(fakeFSMagic))
	fd, err := os.Open(dev)
	if err != nil {
		return "", err
	}
	defer fd.Close()
	fd.ReadAt(b, 0)
	if string(b) == fakeFSMagic {
		return "ext4", nil
	}
	return "", nil
}

// ---- Mounter ----

type fakeMounter struct {
	w      *world
	mounts map[string][]string // node -> targets
	busy   bool                // Unmount fails with EBUSY
}

func (m *fakeMounter) Mount(source, target, fstype string, ro bool) error {
	if err := m.w.call("mount " + target); err != nil {
		return err
	}
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	m.mounts[source] = append(m.mounts[source], target)
	return nil
}

func (m *fakeMounter) Unmount(target string) error {
	if err := m.w.call("umount " + target); err != nil {
		return err
	}
	if m.busy {
		return os.NewSyscallError("umount", unix.EBUSY)
	}
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	for src, ts := range m.mounts {
		if i := slices.Index(ts, target); i >= 0 {
			m.mounts[src] = slices.Delete(ts, i, i+1)
			return nil
		}
	}
	return os.NewSyscallError("umount", unix.EINVAL)
}

func (m *fakeMounter) MountPoints(dev string) ([]string, error) {
	if _, err := os.Stat(dev); err != nil {
		return nil, err // the real one stats dev for its device number
	}
	m.w.mu.Lock()
	defer m.w.mu.Unlock()
	return append([]string(nil), m.mounts[dev]...), nil
}

// ---- Devices ----

type fakeDevices struct {
	w     *world
	inUse map[string][]probe.Finding
	busy  bool // exclusive open fails with EBUSY
	// dropsWrites makes ReadDirect return zeros: a device that accepts
	// writes into the page cache and never keeps them.
	dropsWrites bool
}

func (d *fakeDevices) Resolve(spec string) (string, error) { return spec, nil }

func (d *fakeDevices) Open(path string, write, excl bool) (BlockDev, error) {
	if excl && d.busy {
		return nil, &os.PathError{Op: "open", Path: path, Err: unix.EBUSY}
	}
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	return os.OpenFile(path, flag, 0)
}

func (d *fakeDevices) Size(path string) (int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (d *fakeDevices) ID(path string) (string, error)             { return "", nil }
func (d *fakeDevices) PathOf(id string) string                    { return "" }
func (d *fakeDevices) InUse(path string) ([]probe.Finding, error) { return d.inUse[path], nil }

func (d *fakeDevices) ReadDirect(path string, off int64, n int) ([]byte, error) {
	b := make([]byte, n)
	if d.dropsWrites {
		return b, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	_, err = f.ReadAt(b, off)
	return b, err
}

var errInjected = errors.New("injected failure")
