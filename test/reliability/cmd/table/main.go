// Command table reads `go test -v` output (or any text) on stdin and prints
// the reliability table made of its @@RELIABILITY lines (see package
// test/reliability). With -strict it exits 1 when any case went bad, and
// 2 when no figure was found.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/caamcrypt/caamcrypt/test/reliability"
)

func main() {
	strict := flag.Bool("strict", false, "exit 1 when a case went bad, 2 when there are no figures")
	flag.Parse()
	groups, err := reliability.Parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "reliability table:", err)
		os.Exit(2)
	}
	bad := reliability.Render(os.Stdout, groups)
	if *strict && len(groups) == 0 {
		os.Exit(2)
	}
	if *strict && bad > 0 {
		os.Exit(1)
	}
}
