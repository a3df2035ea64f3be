package vm

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkOpenAllScale (issue 10, part 3): caamcrypt open --all over
// tables of 1, 4 and 16 caamcrypt volumes (each on its own disk, mounted),
// and for comparison 16 single caamcrypt open commands one after the other
// (what a boot script without --all does). Prints the median and spread
// of each and the time per volume; flat or falling per-volume time is the
// goal. One noudev guest, guest clock (guest/benchrun), teardown untimed.
// CAAMCRYPT_BENCH_ITERS runs per case (default 5), CAAMCRYPT_BENCH_CPUS
// the guest's CPUs (default 1; i.MX8M has 4 cores, i.MX6UL one).
func BenchmarkOpenAllScale(b *testing.B) {
	RequireVM(b)
	sim := CaamsimModule(b, "")
	iters := envInt(b, benchEnvIters, 5)
	cpus := envInt(b, "CAAMCRYPT_BENCH_CPUS", 1)
	const most = 16
	var disks []DiskSpec
	for i := 1; i <= most; i++ {
		disks = append(disks, DiskSpec{Name: fmt.Sprintf("s%d", i), SizeMiB: 16})
	}
	m0 := &Machine{cfg: Config{Disks: disks}}
	dev := func(i int) string { return m0.GuestDevice(fmt.Sprintf("s%d", i)) }
	files := map[string][]byte{}
	var format strings.Builder
	for i := 1; i <= most; i++ {
		fmt.Fprintf(&format, "caamcrypt format %s --name s%d --key-size 16\ncaamcrypt close s%d\n", dev(i), i, i)
	}
	sizes := []int{1, 4, most}
	var cases []string
	for _, n := range sizes {
		var tab strings.Builder
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&tab, "s%d %s - mount=/mnt/s%d\n", i, dev(i), i)
		}
		files[fmt.Sprintf("/etc/caamtab%d", n)] = []byte(tab.String())
		c := fmt.Sprintf("all%d", n)
		cases = append(cases, c)
		files["/bench/"+c+".run"] = []byte(fmt.Sprintf("caamcrypt --config /etc/caamtab%d open --all >/dev/null\n", n))
		files["/bench/"+c+".teardown"] = []byte(fmt.Sprintf("caamcrypt --config /etc/caamtab%d close --all >/dev/null\n", n))
	}
	var seq strings.Builder
	seq.WriteString("set -e\n")
	for i := 1; i <= most; i++ {
		fmt.Fprintf(&seq, "caamcrypt open %s --name s%d --mount /mnt/s%d >/dev/null\n", dev(i), i, i)
	}
	cases = append(cases, "seq16")
	files["/bench/seq16.run"] = []byte(seq.String())
	files["/bench/seq16.teardown"] = []byte(fmt.Sprintf("caamcrypt --config /etc/caamtab%d close --all >/dev/null\n", most))

	m := New(b, Config{
		Flavour:      NoUdev,
		CPUs:         cpus,
		Disks:        disks,
		Binaries:     map[string]string{"/usr/bin/caamcrypt": MustBuildGo(b, "./cmd/caamcrypt"), benchRunner: MustBuildGo(b, "./test/vm/guest/benchrun")},
		Files:        files,
		ExtraModules: []Module{sim},
	})
	res := m.Boot(Boot{Steps: []Step{
		{Name: "setup", Run: "set -e\nmkdir -p -m 0700 /data/caam\n" + format.String()},
		{Name: "bench", Run: fmt.Sprintf("%s -n %d -warmup 1 %s", benchRunner, iters, strings.Join(cases, " "))},
	}, Timeout: 60 * time.Minute})
	res.Require(b)
	s, err := parseBench(res.Step("bench").Output)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("open --all scale: guest clock, %d CPU(s), %d runs per case, host load %.2f\n", cpus, iters, loadAvg())
	b.ReportMetric(0, "ns/op")
	per := func(c string, n int) float64 { return msOf(s.median(c)) / float64(n) }
	for i, c := range cases {
		n := most
		if i < len(sizes) {
			n = sizes[i]
		}
		if s.median(c) <= 0 {
			b.Fatalf("no samples for %s:\n%s", c, res.Step("bench").Output)
		}
		fmt.Printf("  %-6s %2d volumes: %s, %.1f ms per volume\n", c, n, s.summary(c), per(c, n))
		b.ReportMetric(per(c, n), c+"-ms/volume")
	}
	b.ReportMetric(per("all16", most)/per("all1", 1), "all16-x-all1-per-volume")
	b.ReportMetric(msOf(s.median("all16"))/msOf(s.median("seq16")), "all16-x-seq16")
	b.ReportMetric(loadAvg(), "host-load1")
}
