package keyops

import (
	"errors"
	"io/fs"

	"github.com/caamcrypt/caamcrypt/internal/fail"
)

func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fail.ErrNotFound)
}
