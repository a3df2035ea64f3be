package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// capIPCLock is CAP_IPC_LOCK's bit in /proc/self/status CapEff
// (linux/capability.h).
const capIPCLock = 14

// hardenProcess keeps key material out of core dumps, ptrace and swap for
// the whole run: every command may hold a red or black key or a passphrase,
// so it is done once, first thing in main, not around each key.
//
//   - PR_SET_DUMPABLE 0: no core dump, and /proc/<pid>/mem and ptrace are
//     closed to processes without CAP_SYS_PTRACE (prctl(2)). Children that
//     exec (mke2fs, e2fsck) get the default back from execve, which is fine:
//     they never see a key.
//   - mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT): pages are locked as they
//     are touched, so the Go heap holding keys is never swapped out, while
//     the runtime's large address reservations are not populated. Only with
//     CAP_IPC_LOCK: without it RLIMIT_MEMLOCK applies to future mappings,
//     and a Go heap growing past it would fail allocation and crash the
//     program; secrets are also wiped after use, so losing the lock is a
//     weaker guarantee, not a failure.
//
// It returns what it did or could not do, for the debug log (the log level
// is not known yet when main calls it).
func hardenProcess() []string {
	var notes []string
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		notes = append(notes, fmt.Sprintf("prctl(PR_SET_DUMPABLE, 0): %v", err))
	}
	switch ok, err := hasCapability(capIPCLock); {
	case err != nil:
		notes = append(notes, fmt.Sprintf("memory not locked: reading capabilities: %v", err))
	case !ok:
		notes = append(notes, "memory not locked: no CAP_IPC_LOCK")
	default:
		if err := unix.Mlockall(unix.MCL_CURRENT | unix.MCL_FUTURE | unix.MCL_ONFAULT); err != nil {
			// EINVAL: kernel before 4.4 without MCL_ONFAULT; ENOMEM/EPERM:
			// limits. Run unlocked rather than refuse to work.
			notes = append(notes, fmt.Sprintf("memory not locked: mlockall: %v", err))
		}
	}
	return notes
}

// processProtection reads back what the kernel says about this process:
// the dumpable flag and the locked memory, for the trace log and the tests.
func processProtection() string {
	d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0)
	dump := strconv.Itoa(d)
	if err != nil {
		dump = err.Error()
	}
	lck := "?"
	if v, err := statusField("VmLck"); err == nil {
		lck = v
	}
	return fmt.Sprintf("dumpable=%s VmLck=%s", dump, lck)
}

// statusField returns a field of /proc/self/status without its name.
func statusField(name string) (string, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			return strings.Join(strings.Fields(v), " "), nil
		}
	}
	return "", fmt.Errorf("no %s in /proc/self/status", name)
}

// hasCapability reports whether capability bit is in this process's
// effective set.
func hasCapability(bit uint) (bool, error) {
	v, err := statusField("CapEff")
	if err != nil {
		return false, err
	}
	n, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return false, fmt.Errorf("CapEff %q: %w", v, err)
	}
	return n&(1<<bit) != 0, nil
}
