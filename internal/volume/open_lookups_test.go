package volume

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/caamcrypt/caamcrypt/dm"
	"github.com/caamcrypt/caamcrypt/internal/fail"
)

// countingMapper counts the lookups an operation makes (each is one
// libdevmapper session and ioctl on a real system).
type countingMapper struct {
	*fakeMapper
	mu                 sync.Mutex
	info, table, lists int
}

func (c *countingMapper) Info(name string) (dm.Info, error) {
	c.mu.Lock()
	c.info++
	c.mu.Unlock()
	return c.fakeMapper.Info(name)
}

func (c *countingMapper) Table(name string) ([]dm.Target, error) {
	c.mu.Lock()
	c.table++
	c.mu.Unlock()
	return c.fakeMapper.Table(name)
}

func (c *countingMapper) List() ([]dm.DeviceEntry, error) {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.fakeMapper.List()
}

func (c *countingMapper) reset() (info, table, lists int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	info, table, lists = c.info, c.table, c.lists
	c.info, c.table, c.lists = 0, 0, 0
	return
}

// holderDevices adds the kernel's holders list to the fake devices: the
// mappings whose table uses a path.
type holderDevices struct {
	*fakeDevices
	mapper *fakeMapper
}

func (h holderDevices) Holders(path string) ([]string, bool) {
	h.mapper.w.mu.Lock()
	defer h.mapper.w.mu.Unlock()
	var out []string
	for n, fm := range h.mapper.maps {
		if fm.params.Device == path {
			out = append(out, n)
		}
	}
	return out, true
}

// countingManager is w.manager() over a countingMapper and, with holders,
// devices that know their holders.
func countingManager(w *world, holders bool) (*Manager, *countingMapper) {
	cm := &countingMapper{fakeMapper: w.mapper}
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	log.SetOutput(testWriter{w.t})
	var devs Devices = w.devices
	if holders {
		devs = holderDevices{fakeDevices: w.devices, mapper: w.mapper}
	}
	return newManager(Config{KeyDir: filepath.Join(w.dir, "keys"), Log: log}, deps{
		keys: w.keys, store: w.store, mapper: cm, ring: w.ring, fs: w.fs,
		mounter: w.mounter, locker: &flockLocker{dir: filepath.Join(w.dir, "lock")}, devices: devs,
		kernel: fakeKernel{w},
	}), cm
}

// A cold open asks device-mapper one list and nothing per mapping: the
// names it needs are looked for in that list, and the mappings over its
// device come from the holders list. Without a holders list, every
// mapping's table is read (the fallback), still with one list.
func TestColdOpenLookupsDoNotGrowWithMappings(t *testing.T) {
	for _, holders := range []bool{true, false} {
		t.Run(fmt.Sprintf("holders=%v", holders), func(t *testing.T) {
			w := newWorld(t)
			m, cm := countingManager(w, holders)
			ctx := context.Background()
			dev := w.disk("vol", diskSize)
			formatClosed(t, m, FormatOptions{Device: dev, Name: "vol", FS: FSNone})
			const others = 5
			for i := 0; i < others; i++ {
				d := w.disk(fmt.Sprintf("o%d", i), diskSize)
				if _, err := m.Format(ctx, FormatOptions{Device: d, Name: fmt.Sprintf("o%d", i), FS: FSNone}); err != nil {
					t.Fatal(err)
				}
			}
			cm.reset()
			if _, err := m.Open(ctx, OpenOptions{Device: dev, Name: "vol"}); err != nil {
				t.Fatal(err)
			}
			info, table, lists := cm.reset()
			wantTable := 0
			if !holders {
				wantTable = others
			}
			if info != 0 || lists != 1 || table != wantTable {
				t.Fatalf("cold open with %d other mappings: %d info, %d table, %d list lookups; want 0, %d, 1",
					others, info, table, lists, wantTable)
			}
			// Opening again is the idempotent success, found through the list.
			v, err := m.Open(ctx, OpenOptions{Device: dev, Name: "vol"})
			if err != nil || !v.AlreadyOpen {
				t.Fatalf("second open = %+v, %v; want already open", v, err)
			}
		})
	}
}

// The holders path keeps the refusals: a device open under one name is not
// opened under another, and a name over another device is refused.
func TestHoldersKeepOpenRefusals(t *testing.T) {
	w := newWorld(t)
	m, _ := countingManager(w, true)
	ctx := context.Background()
	a, b := w.disk("a", diskSize), w.disk("b", diskSize)
	for _, d := range []string{a, b} {
		if _, err := m.Format(ctx, FormatOptions{Device: d, Name: filepath.Base(d), FS: FSNone}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(ctx, CloseOptions{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Open(ctx, OpenOptions{Device: a, Name: "a2"}); !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("open a under a second name = %v, want refused", err)
	}
	if _, err := m.Open(ctx, OpenOptions{Device: b, Name: "a"}); !errors.Is(err, fail.ErrRefused) {
		t.Fatalf("open b under a's name = %v, want refused", err)
	}
	// close by device finds its mapping through the holders too.
	if err := m.Close(ctx, CloseOptions{Device: a}); err != nil {
		t.Fatal(err)
	}
	w.requireNothingLeft(t)
}
