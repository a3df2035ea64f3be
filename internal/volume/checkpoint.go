package volume

import (
	"context"
	"fmt"

	"github.com/caamcrypt/caamcrypt/internal/testpause"
)

// checkpoint is a named point between two steps of an operation. It
// returns an error once ctx has ended (the CLI cancels it on SIGINT and
// SIGTERM), so the operation stops there and its undo stack rolls back
// what was made; a test build may pause there (package testpause) so the
// QEMU rig can kill or signal the process at exactly this point. The
// names are listed in docs/contracts.md.
func checkpoint(ctx context.Context, name string) error {
	testpause.Point(ctx, name)
	if ctx.Err() != nil {
		return fmt.Errorf("stopped before step %s: %w", name, context.Cause(ctx))
	}
	return nil
}

// Checkpoint names (pause points of the tests).
const (
	cpFormatLocked  = "format-locked"
	cpFormatKey     = "format-key-made"
	cpFormatHeader  = "format-header-written"
	cpFormatLoaded  = "format-key-loaded"
	cpFormatChecked = "format-check-written"
	cpFormatMapped  = "format-mapped"
	cpFormatWiping  = "format-wiping"
	cpFormatMkfs    = "format-mkfs-done"
	cpFormatMounted = "format-mounted"
	cpOpenLocked    = "open-locked"
	cpOpenKeyLoaded = "open-key-loaded"
	cpOpenChecked   = "open-check-verified"
	cpOpenMapped    = "open-mapped"
	cpOpenMounted   = "open-mounted"
	cpRepairLocked  = "repair-locked"
)
