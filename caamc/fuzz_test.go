package caamc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/caamcrypt/caamcrypt/internal/testutil"
)

func FuzzParseObject(f *testing.F) {
	testutil.Seed(f, validObject(1, 16, 16))
	testutil.Seed(f, validObject(1, 16, 76))
	testutil.Seed(f, validObject(9, 64, 76))
	testutil.Seed(f, validObject(9, 64, 124))
	testutil.Seed(f, validObject(1, 33, 48))
	testutil.Seed(f, []byte("TagO"))
	testutil.Seed(f, []byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseObject(b)
		if err != nil {
			if !errors.Is(err, ErrBadTag) {
				t.Fatalf("error does not wrap ErrBadTag: %v", err)
			}
			return
		}
		if !bytes.Equal(o.Bytes(), b) {
			t.Fatalf("accepted object re-encodes differently")
		}
		k := o.Kind()
		l := int(o.Tag.RedKeyLen)
		switch {
		case k == KindBlackKey && len(b) == 20+wantKeySize(o.Tag.Type.CCM(), l):
		case k == KindBlob && len(b) == 20+wantBlobSize(l):
		default:
			t.Fatalf("accepted %v of %d bytes for red len %d type %v", k, len(b), l, o.Tag.Type)
		}
		_ = o.Describe()
		_ = o.Tag.Type.String()
	})
}
