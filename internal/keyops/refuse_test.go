package keyops

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/caamcrypt/caamcrypt/caamc"
	"github.com/caamcrypt/caamcrypt/internal/fail"
	"github.com/caamcrypt/caamcrypt/internal/keystore"
)

// Anything at the blob's name stops a create without force, and the check
// must only look, not read: a FIFO there once hung the command forever (and
// reading an existing key file left its bytes on the heap unwiped).
func TestCreateRefusesFIFOWithoutHanging(t *testing.T) {
	dir := t.TempDir()
	st := keystore.New(dir)
	if err := unix.Mkfifo(filepath.Join(dir, "k.bb"), 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	kg := &fakeKeygen{}
	done := make(chan error, 1)
	go func() {
		_, err := Create(kg, st, "k", caamc.ECB, caamc.KeySpec{Size: 16}, false)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, fail.ErrRefused) || !errors.Is(err, keystore.ErrExists) {
			t.Fatalf("Create with a FIFO at k.bb: %v, want refused/exists", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Create blocked on the FIFO at k.bb")
	}
	if len(kg.specs) != 0 {
		t.Fatalf("CAAM asked although k.bb exists")
	}
}
