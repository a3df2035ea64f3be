//go:build caamcrypt_testhooks

package testpause

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A pause at the named point writes the marker and returns when the
// context is cancelled; other points do not pause.
func TestPointPausesUntilCancelled(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "m")
	t.Setenv("CAAMCRYPT_TEST_PAUSE", "here")
	t.Setenv("CAAMCRYPT_TEST_PAUSE_MARKER", marker)
	Point(context.Background(), "elsewhere")
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("another point wrote the marker")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Point(ctx, "here"); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(marker)
		if err == nil {
			if !strings.HasPrefix(string(b), "here ") {
				t.Fatalf("marker %q", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("marker not written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("Point returned before the context ended")
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Point did not return after cancel")
	}
}
