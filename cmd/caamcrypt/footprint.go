package main

// Transparent huge pages off before the runtime starts: peak RSS of open
// went from about 20 MiB to less on kernels with THP "always" (see package
// nothp and test/vm/bench_unlock_test.go).
import _ "github.com/caamcrypt/caamcrypt/internal/nothp"
