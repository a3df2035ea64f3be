//go:build linux && cgo

package nothp

/*
#include <sys/prctl.h>

#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#endif

// Runs from the loader's init_array, before the Go runtime (prctl(2):
// the flag is inherited by fork and kept across execve). A failure (a
// kernel without THP) changes nothing and needs no report.
__attribute__((constructor)) static void caamcrypt_thp_off(void)
{
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
}
*/
import "C"

// Enabled reports whether this build disables THP at start (linux+cgo).
const Enabled = true
