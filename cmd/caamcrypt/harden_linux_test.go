package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHardenProcess runs hardenProcess in a child copy of the test binary
// (it changes the whole process) and reads back what the kernel reports:
// the process is not dumpable, and with CAP_IPC_LOCK its memory is locked.
func TestHardenProcess(t *testing.T) {
	if os.Getenv("CAAMCRYPT_HARDEN_CHILD") == "1" {
		notes := hardenProcess()
		fmt.Printf("protection: %s\nnotes: %q\n", processProtection(), notes)
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHardenProcess$")
	cmd.Env = append(os.Environ(), "CAAMCRYPT_HARDEN_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "dumpable=0 ") {
		t.Fatalf("child is still dumpable:\n%s", out)
	}
	canLock, err := hasCapability(capIPCLock)
	if err != nil {
		t.Fatal(err)
	}
	locked := !strings.Contains(string(out), "VmLck=0 kB")
	switch {
	case canLock && !locked && !strings.Contains(string(out), "mlockall:"):
		t.Fatalf("CAP_IPC_LOCK but nothing locked and no mlockall error:\n%s", out)
	case !canLock && locked:
		t.Fatalf("memory locked without CAP_IPC_LOCK:\n%s", out)
	case !canLock && !strings.Contains(string(out), "no CAP_IPC_LOCK"):
		t.Fatalf("no note why memory is not locked:\n%s", out)
	}
	t.Logf("CAP_IPC_LOCK=%v; child says:\n%s", canLock, out)
}
