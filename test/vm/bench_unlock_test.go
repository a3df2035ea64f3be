package vm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Unlock against its floor (issue 10, part 2): caamcrypt open --mount,
// the seed's shell sequence and test/vm/floor/unlockfloor.c (only the
// kernel calls an unlock needs: caam-keygen IMPORT, add_key, DM_DEV_CREATE
// + DM_TABLE_LOAD + resume, mount) on the same plain volume, plus
// caamcrypt open of a caamcrypt volume (header, key-check mapping on top).
// Warm runs follow each other; cold runs drop the page cache first
// (sync; drop_caches), so the volume's header, key-check area and ext4
// metadata come from the disk. The initramfs holds the programs in RAM in
// both cases: program loading from flash, as on a board's cold boot, is
// not in the numbers. Like bench_test.go: one noudev guest, timed with
// guest/benchrun on the guest's clock, cases interleaved.

const floorBin = "/usr/bin/unlockfloor"

// buildFloor compiles unlockfloor.c with the host's C compiler (gcc is in
// the Makefile's DEB_PACKAGES) into the test's temp dir.
func buildFloor(b testing.TB) string {
	b.Helper()
	root, err := ModuleRoot()
	if err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "unlockfloor")
	cmd := exec.Command("gcc", "-O2", "-Wall", "-o", out, filepath.Join(root, "test/vm/floor/unlockfloor.c"))
	if o, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("gcc unlockfloor.c: %v\n%s", err, o)
	}
	return out
}

// unlockScripts are benchrun's cases: floor, seed, plain, caamcrypt, each
// warm and "-cold".
func unlockScripts() map[string]string {
	s := benchScripts()
	out := map[string]string{
		"floor.run": floorBin + " /data/caam/K.bb " + benchPlainDev + " floorv /mnt/floor 512\n",
		// dmsetup remove leaves /dev/mapper alone without udev; the floor
		// never made a node there, mknodes keeps the directory tidy.
		"floor.teardown": "set -e\numount /mnt/floor\ndmsetup remove floorv\ndmsetup mknodes\nkeyctl clear @u\n",
	}
	for _, c := range []string{"seed", "plain", "caamcrypt"} {
		out[c+".run"], out[c+".teardown"] = s[c+".run"], s[c+".teardown"]
	}
	// The fixed cost of starting the program, for the breakdown.
	out["startup.run"] = "caamcrypt --version >/dev/null\n"
	drop := "sync && echo 3 > /proc/sys/vm/drop_caches\n"
	for _, c := range []string{"floor", "seed", "plain", "caamcrypt"} {
		out[c+"-cold.setup"] = drop
		out[c+"-cold.run"] = out[c+".run"]
		out[c+"-cold.teardown"] = out[c+".teardown"]
	}
	return out
}

// BenchmarkUnlockFloor prints, for warm and cold runs, the median and
// spread of each case and the ratios <case>-x-floor (issue target:
// caamcrypt at most 1.3x the floor). With strace on the host it also
// counts the device-mapper ioctls and /dev/mapper/control sessions of one
// cold caamcrypt open with 0 and with 4 unrelated mappings present, and of
// an open by LABEL=, and prints the peak RSS of open and of the seed's
// tools (busybox time -v). CAAMCRYPT_BENCH_ITERS: runs per case (default 10).
func BenchmarkUnlockFloor(b *testing.B) {
	RequireVM(b)
	sim := CaamsimModule(b, "")
	iters := envInt(b, benchEnvIters, 10)
	files := map[string][]byte{}
	for name, text := range unlockScripts() {
		files["/bench/"+name] = []byte(text)
	}
	bins := map[string]string{
		"/usr/bin/caamcrypt": MustBuildGo(b, "./cmd/caamcrypt"),
		benchRunner:          MustBuildGo(b, "./test/vm/guest/benchrun"),
		floorBin:             buildFloor(b),
	}
	strace, _ := exec.LookPath("strace")
	if strace != "" {
		bins["/usr/bin/strace"] = strace
	}
	m := New(b, Config{
		Flavour:      NoUdev,
		Disks:        []DiskSpec{{Name: "plain", SizeMiB: 64}, {Name: "cc", SizeMiB: 64}},
		Binaries:     bins,
		Files:        files,
		ExtraModules: []Module{sim},
	})
	cases := []string{"floor", "seed", "plain", "caamcrypt", "floor-cold", "seed-cold", "plain-cold", "caamcrypt-cold", "startup"}
	steps := []Step{
		{Name: "setup", Run: "set -e\nmkdir -p /mnt/seed /mnt/plain /mnt/cc /mnt/floor\nmkdir -p -m 0700 /data/caam\n" +
			"caamcrypt format " + benchPlainDev + " --type plain --key K --key-size 16 --name plainv\n" +
			"caamcrypt close plainv\n" +
			"caamcrypt format " + benchCCDev + " --name ccv --label cclabel --key-size 16\n" +
			"caamcrypt close ccv\n" +
			// The floor maps what caamcrypt maps: same table.
			floorBin + " /data/caam/K.bb " + benchPlainDev + " floorv /mnt/floor 512\n" +
			"ls /mnt/floor/lost+found >/dev/null\n" +
			"dmsetup table floorv | sed 's/:logon:.* 0 /:logon:DESC 0 /'\n" +
			"umount /mnt/floor\ndmsetup remove floorv\nkeyctl clear @u\n"},
		{Name: "bench", Run: fmt.Sprintf("%s -n %d -warmup 1 %s", benchRunner, iters, strings.Join(cases, " "))},
		{Name: "rss", Run: rssScript()},
		{Name: "trace", Run: benchRunner + " -trace caamcrypt --log-level debug open " + benchCCDev +
			" --name ccv --mount /mnt/cc && caamcrypt close ccv"},
	}
	if strace != "" {
		steps = append(steps, Step{Name: "ioctls", Run: ioctlScript()})
	}
	res := m.Boot(Boot{Steps: steps, Timeout: 40 * time.Minute})
	res.Require(b)
	s, err := parseBench(res.Step("bench").Output)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Printf("unlock vs floor: guest clock, %d runs per case, plain volume unless named caamcrypt\n", iters)
	fmt.Printf("floor table: %s", res.Step("setup").Output)
	b.ReportMetric(0, "ns/op")
	for _, temp := range []string{"", "-cold"} {
		floor := s.median("floor" + temp)
		if floor <= 0 {
			b.Fatalf("no floor%s samples:\n%s", temp, res.Step("bench").Output)
		}
		for _, c := range []string{"floor", "seed", "plain", "caamcrypt"} {
			med := s.median(c + temp)
			fmt.Printf("  %-15s %s  %.2fx floor\n", c+temp, s.summary(c+temp), float64(med)/float64(floor))
			b.ReportMetric(msOf(med), c+temp+"-ms")
			if c != "floor" {
				b.ReportMetric(float64(med)/float64(floor), c+temp+"-x-floor")
			}
		}
	}
	fmt.Printf("  %-15s %s (caamcrypt --version: process start alone)\n", "startup", s.summary("startup"))
	fmt.Printf("peak RSS (busybox time -v, KiB):\n%s\n", res.Step("rss").Output)
	if os.Getenv(benchEnvTrace) != "" {
		fmt.Printf("trace of one open (ms since start):\n%s\n", res.Step("trace").Output)
	}
	if st := res.Step("ioctls"); st != nil {
		fmt.Printf("device-mapper calls of one cold open (strace):\n%s\n", summarizeIoctls(st.Output))
	} else {
		fmt.Println("device-mapper calls: no strace on the host, not counted")
	}
	b.ReportMetric(loadAvg(), "host-load1")
}

// rssScript prints the peak RSS of open --mount (caamcrypt and plain
// volume) and of each tool of the seed's sequence.
func rssScript() string {
	t := func(label, cmd string) string {
		return "busybox time -v " + cmd + " 2>/tmp/rss >/dev/null || { cat /tmp/rss; exit 1; }\n" +
			"echo \"" + label + " $(sed -n 's/.*Maximum resident set size (kbytes): //p' /tmp/rss)\"\n"
	}
	return "set -e\n" +
		t("caamcrypt-open-mount", "caamcrypt open "+benchCCDev+" --name ccv --mount /mnt/cc") +
		"caamcrypt close ccv\n" +
		t("caamcrypt-open-plain-mount", "caamcrypt open "+benchPlainDev+" --type plain --key K --name plainv --mount /mnt/plain") +
		"caamcrypt close plainv\n" +
		t("seed:caamcrypt-key-import", "caamcrypt key import /data/caam/K.bb imported --force") +
		"cp /data/caam/imported /tmp/imported\n" +
		t("seed:keyctl-padd", "sh -c 'keyctl padd logon logkey: @u </tmp/imported'") +
		t("seed:dmsetup-create", `dmsetup create seedv --table "0 $(blockdev --getsz `+benchPlainDev+`) crypt capi:tk(cbc(aes))-plain :36:logon:logkey: 0 `+benchPlainDev+` 0 1 sector_size:512"`) +
		t("floor", floorBin+" /data/caam/K.bb "+benchPlainDev+" floorv2 /mnt/floor 512") +
		"umount /mnt/floor\ndmsetup remove floorv2\ndmsetup remove seedv\nkeyctl clear @u\n"
}

// ioctlScript straces cold opens: plain device path with no other
// mapping, with 4 unrelated mappings, and by LABEL=.
func ioctlScript() string {
	one := func(label, cmd string) string {
		return "sync; echo 3 > /proc/sys/vm/drop_caches\n" +
			"strace -f -qq -o /tmp/st -e trace=ioctl,openat,pread64,read " + cmd + " >/dev/null\n" +
			"echo \"@@CASE " + label + "\"\n" +
			"grep -o 'ioctl([0-9]*, DM_[A-Z_]*' /tmp/st | sed 's/.*, //' | sort | uniq -c | sed 's/^/  ioctl /'\n" +
			"echo \"  control-opens $(grep -c 'openat(.*/dev/mapper/control\"' /tmp/st)\"\n" +
			"echo \"  device-opens $(grep -c 'openat(.*\"" + benchCCDev + "\"' /tmp/st)\"\n" +
			"caamcrypt close ccv\n"
	}
	extra := ""
	for i := 0; i < 4; i++ {
		extra += fmt.Sprintf("dmsetup create other%d --table '0 8 zero'\n", i)
	}
	return "set -e\n" +
		one("path, 0 other mappings", "caamcrypt open "+benchCCDev+" --name ccv --mount /mnt/cc") +
		extra + "dmsetup mknodes\n" +
		one("path, 4 other mappings", "caamcrypt open "+benchCCDev+" --name ccv --mount /mnt/cc") +
		one("LABEL=, 4 other mappings", "caamcrypt open LABEL=cclabel --name ccv --mount /mnt/cc") +
		"for i in 0 1 2 3; do dmsetup remove other$i; done\n"
}

var ioctlLine = regexp.MustCompile(`^\s+ioctl\s+(\d+)\s+(DM_\w+)`)

// summarizeIoctls adds a total of DM ioctls to each case of ioctlScript's output.
func summarizeIoctls(out string) string {
	var b strings.Builder
	total := 0
	flush := func() {
		if total > 0 {
			fmt.Fprintf(&b, "  total DM ioctls %d\n", total)
		}
		total = 0
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "@@CASE ") {
			flush()
			b.WriteString(strings.TrimPrefix(l, "@@CASE ") + ":\n")
			continue
		}
		if m := ioctlLine.FindStringSubmatch(l); m != nil {
			var n int
			fmt.Sscan(m[1], &n)
			total += n
		}
		b.WriteString(l + "\n")
	}
	flush()
	return b.String()
}
