#!/bin/bash
# Runs every Go fuzz target of caamcrypt for FUZZTIME each (Go fuzzes one
# target per `go test` invocation) and prints, per target, the line the
# reliability table reads:
#   @@RELIABILITY|fuzz|<package>.<target>|<execs>|<crashers>
# Usage: test/fuzz/run.sh [FUZZTIME]   (default 60s; `make fuzz-smoke` uses 5s)
# A crasher makes the script fail; Go writes the input to the package's
# testdata/fuzz/<target>/ where it becomes a regression seed once committed.
set -u
cd "$(dirname "$0")/../.." || exit 1
fuzztime=${1:-${FUZZTIME:-60s}}
go=${GO:-go}

# package target: every parser of bytes from outside the program.
targets=(
	"./caamc FuzzParseObject"
	"./internal/header FuzzUnmarshal"
	"./internal/header FuzzRestore"
	"./internal/caamtab FuzzParse"
	"./internal/probe FuzzParseMountinfo"
	"./internal/probe FuzzMountinfoPaths"
	"./internal/probe FuzzSignatures"
	"./dm FuzzParseCryptParams"
	"./dm FuzzParseKeyringKey"
	"./dm FuzzRedactLine"
	"./cmd/caamcrypt FuzzNumericArgs"
)

failed=0
start=$(date +%s)
module=$("$go" list -m)
cache=$("$go" env GOCACHE)/fuzz
bindir=$(mktemp -d)
trap 'rm -rf "$bindir"' EXIT
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	# One instrumented test binary per package (go test -c -fuzz), run once
	# per target: relinking for every target cost more than the fuzzing.
	bin=$bindir/$(tr / _ <<<"${pkg#./}").test
	if [ ! -x "$bin" ]; then
		if ! out=$("$go" test -c -fuzz "^${name}\$" -o "$bin" "$pkg" 2>&1); then
			echo "@@RELIABILITY|fuzz|${pkg#./}.${name}|0|1"
			echo "fuzz: building $pkg failed:" >&2
			echo "$out" >&2
			failed=1
			continue
		fi
	fi
	# The binary runs in its package directory (testdata/fuzz/<target> is the
	# committed seed corpus) and shares go test's cache of generated inputs.
	fuzz_once() {
		out=$(cd "$pkg" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "$fuzztime" \
			-test.fuzzminimizetime 10s -test.fuzzcachedir "$cache/$module/${pkg#./}" 2>&1)
		rc=$?
	}
	# Go's fuzzing coordinator can fail a target at the -fuzztime deadline
	# with a bare "context deadline exceeded", having found nothing (a race
	# between its deadline and its workers' context, golang/go#75804). A
	# real finding writes its input. Such a failure is run again, up to
	# three runs in all: the slowest target (FuzzNumericArgs runs the whole
	# CLI) hit it in 1 of 6 runs of 5 s on a quiet machine, twice in a row
	# in one CI run. A hang would fail all three.
	deadline_race() {
		[ "$rc" -ne 0 ] && ! grep -q 'Failing input written to' <<<"$out" &&
			[ "$(grep -c -v -e '^fuzz: elapsed' -e '^--- FAIL' -e '^FAIL$' -e 'context deadline exceeded' -e '^\s*$' <<<"$out")" -eq 0 ] &&
			grep -q 'context deadline exceeded' <<<"$out"
	}
	fuzz_once
	for try in 2 3; do
		deadline_race || break
		echo "fuzz: $pkg $name: Go's fuzzing deadline race (no input found), run $try of 3" >&2
		fuzz_once
	done
	execs=$(grep -o 'execs: [0-9]*' <<<"$out" | tail -n 1 | grep -o '[0-9]*$')
	crashers=$(grep -c 'Failing input written to' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$crashers" -eq 0 ]; then
		crashers=1 # failed without a written input (a seed failed, or a build error)
	fi
	echo "@@RELIABILITY|fuzz|${pkg#./}.${name}|${execs:-0}|${crashers}"
	if [ "$rc" -ne 0 ]; then
		failed=1
		echo "fuzz: $pkg $name failed:" >&2
		grep -v '^fuzz: elapsed' <<<"$out" | tail -n 30 >&2
	fi
done
echo "fuzz: ${#targets[@]} targets, ${fuzztime} each, $(($(date +%s) - start)) s in all"
exit $failed
