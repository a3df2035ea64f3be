// Command iobench runs inside the QEMU rig's guest and measures block
// device throughput with O_DIRECT (fio is not in the guest), for
// test/vm/bench_throughput_test.go. It runs the whole matrix itself so the
// cases interleave round by round (host load drift hits them alike) and
// the CAAM timing model of caamsim can be switched between rounds through
// its writable module parameters (test/caamsim/README.md).
//
// Usage:
//
//	iobench [-rounds N] [-seq BYTES] [-rand OPS] [-model OVERHEAD_NS,NS_PER_KIB] NAME=DEV...
//
// Per round, per model state ("off", and "on" when -model is given), per
// target NAME=DEV, it runs four patterns: seqwrite and seqread (1 MiB
// requests over the first BYTES of the device, in order) and randwrite and
// randread (OPS 4 KiB requests at random 4 KiB-aligned offsets in the same
// span; the offsets come from a fixed seed per round, so every target sees
// the same ones). A sequential write of every target, untimed, comes
// first. One line per run:
//
//	@@IO <model> <name> <pattern> <round> <bytes> <ns> <jobs>
//
// where jobs is how many jobs caamsim's timing model completed during the
// run (0 when the model is off or the target does not use tk()).
//
// Exit codes: 0 success, 1 an I/O or setup error, 2 usage.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	seqBlock  = 1 << 20
	randBlock = 4096
	paramDir  = "/sys/module/caamsim/parameters/"
)

type target struct{ name, dev string }

func main() {
	rounds := flag.Int("rounds", 3, "rounds over the whole matrix")
	seq := flag.Int64("seq", 16<<20, "bytes per sequential run (a multiple of 1 MiB)")
	randOps := flag.Int("rand", 256, "4 KiB requests per random run")
	model := flag.String("model", "", "timing model for the \"on\" state: OVERHEAD_NS,NS_PER_KIB (empty: off only)")
	flag.Parse()
	var targets []target
	for _, a := range flag.Args() {
		name, dev, ok := strings.Cut(a, "=")
		if !ok || name == "" || dev == "" {
			usage()
		}
		targets = append(targets, target{name, dev})
	}
	if len(targets) == 0 || *rounds < 1 || *seq < seqBlock || *seq%seqBlock != 0 || *randOps < 1 {
		usage()
	}
	states := []struct{ name, overhead, perKiB string }{{"off", "0", "0"}}
	if *model != "" {
		o, k, ok := strings.Cut(*model, ",")
		if _, err := strconv.ParseUint(o, 10, 32); !ok || err != nil {
			usage()
		}
		if _, err := strconv.ParseUint(k, 10, 32); err != nil {
			usage()
		}
		states = append(states, struct{ name, overhead, perKiB string }{"on", o, k})
	}
	// Page-aligned (mmap) buffers, as O_DIRECT wants; the written one is
	// incompressible and the same in every run.
	wbuf, err1 := syscall.Mmap(-1, 0, seqBlock, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	rbuf, err2 := syscall.Mmap(-1, 0, seqBlock, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err1 != nil || err2 != nil {
		fail("buffers: %v %v", err1, err2)
	}
	rand.New(rand.NewSource(1)).Read(wbuf)
	// Warm-up, not reported: one sequential write of every target, so the
	// host has allocated the disks' sparse files before anything is timed.
	if err := setModel("0", "0"); err != nil {
		fail("model off: %v", err)
	}
	for _, t := range targets {
		if _, _, err := run(t.dev, "seqwrite", wbuf, *seq, *randOps, 0); err != nil {
			fail("warm-up %s: %v", t.name, err)
		}
	}
	for r := 1; r <= *rounds; r++ {
		for _, st := range states {
			if err := setModel(st.overhead, st.perKiB); err != nil {
				fail("model %s: %v", st.name, err)
			}
			for _, t := range targets {
				for _, p := range []string{"seqwrite", "seqread", "randwrite", "randread"} {
					j0 := jobs()
					buf := rbuf
					if strings.HasSuffix(p, "write") {
						buf = wbuf
					}
					n, d, err := run(t.dev, p, buf, *seq, *randOps, int64(r))
					if err != nil {
						fail("%s %s %s round %d: %v", st.name, t.name, p, r, err)
					}
					fmt.Printf("@@IO %s %s %s %d %d %d %d\n", st.name, t.name, p, r, n, d.Nanoseconds(), jobs()-j0)
				}
			}
		}
	}
	if err := setModel("0", "0"); err != nil {
		fail("model off: %v", err)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: iobench [-rounds N] [-seq BYTES] [-rand OPS] [-model OVERHEAD_NS,NS_PER_KIB] NAME=DEV...")
	os.Exit(2)
}

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "iobench: "+format+"\n", a...)
	os.Exit(1)
}

// setModel writes caamsim's timing parameters; without caamsim loaded only
// "off" is possible.
func setModel(overhead, perKiB string) error {
	if _, err := os.Stat(paramDir + "job_overhead_ns"); err != nil {
		if overhead == "0" && perKiB == "0" {
			return nil
		}
		return err
	}
	for f, v := range map[string]string{"job_overhead_ns": overhead, "ns_per_kib": perKiB} {
		if err := os.WriteFile(paramDir+f, []byte(v), 0); err != nil {
			return err
		}
	}
	return nil
}

// jobs is caamsim's completed-job counter, 0 without caamsim.
func jobs() int64 {
	b, err := os.ReadFile(paramDir + "model_jobs")
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n
}

// run does one pattern on dev with O_DIRECT and returns the bytes moved and
// the time from the first request to the last one's completion (writes
// include an fdatasync, which O_DIRECT on a block device makes cheap).
func run(dev, pattern string, buf []byte, seq int64, randOps int, seed int64) (int64, time.Duration, error) {
	write := strings.HasSuffix(pattern, "write")
	flags := syscall.O_RDONLY
	if write {
		flags = syscall.O_WRONLY
	}
	fd, err := syscall.Open(dev, flags|syscall.O_DIRECT|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("open %s: %w", dev, err)
	}
	defer syscall.Close(fd)
	var offs []int64
	block := seqBlock
	if strings.HasPrefix(pattern, "seq") {
		for o := int64(0); o < seq; o += seqBlock {
			offs = append(offs, o)
		}
	} else {
		block = randBlock
		rng := rand.New(rand.NewSource(seed))
		for i := 0; i < randOps; i++ {
			offs = append(offs, rng.Int63n(seq/randBlock)*randBlock)
		}
	}
	io := buf[:block]
	start := time.Now()
	for _, o := range offs {
		var n int
		if write {
			n, err = syscall.Pwrite(fd, io, o)
		} else {
			n, err = syscall.Pread(fd, io, o)
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s at %d: %w", pattern, o, err)
		}
		if n != block {
			return 0, 0, fmt.Errorf("%s at %d: %d of %d bytes", pattern, o, n, block)
		}
	}
	if write {
		if err := syscall.Fdatasync(fd); err != nil {
			return 0, 0, fmt.Errorf("fdatasync: %w", err)
		}
	}
	return int64(len(offs) * block), time.Since(start), nil
}
