//go:build !linux || !cgo

package caamc

import (
	"errors"
	"testing"
)

func TestOpenUnsupported(t *testing.T) {
	d, err := Open("")
	if d != nil || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Open = %v, %v; want errors.ErrUnsupported", d, err)
	}
}
