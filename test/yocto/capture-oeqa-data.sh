#!/usr/bin/env bash
# Writes test/yocto/testdata/captured.json: output and exit codes of the
# real caamcrypt, for test_oeqa_case.py. Not part of make test (it boots
# the QEMU rig, several minutes); re-run it when caamcrypt's --json output
# or exit codes change, and commit the result.
#
#   host/...  bin/caamcrypt on this build machine (no CAAM, no caamsim)
#   vm/...    steps of test/vm's TestVolumeLifecycle (noudev flavour,
#             caamsim loaded), logged with CAAMCRYPT_VM_STEPLOG=1
set -euo pipefail
cd "$(dirname "$0")/../.."
out=test/yocto/testdata/captured.json
mkdir -p "$(dirname "$out")" bin
log=$(mktemp)
trap 'rm -f "$log" "$log".*' EXIT

make -s build caamsim >/dev/null
# The Makefile's host build is not stamped; a second one is, as the recipe
# and the cross builds stamp theirs.
go build -o "$log.stamped" -ldflags "-X main.version=$(git describe --always --dirty)" ./cmd/caamcrypt

run() { # NAME CMD...: one host step as a JSON line
	local rc=0 o
	o=$("${@:2}" 2>&1) || rc=$?
	python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[1], "command": sys.argv[2], "rc": int(sys.argv[3]), "output": sys.argv[4]}))' \
		"$1" "${*:2}" "$rc" "$o"
}
{
	run host/version-unstamped bin/caamcrypt --version
	run host/version-stamped "$log.stamped" --version
	run host/doctor-json bin/caamcrypt doctor --json
} >"$log.host"

# CAPTURE_VM_LOG: the -v log of that same go test run already made.
if [ -n "${CAPTURE_VM_LOG:-}" ]; then
	cp "$CAPTURE_VM_LOG" "$log.vm"
elif ! CAAMCRYPT_VM=required CAAMCRYPT_VM_STEPLOG=1 go test -count=1 -v -timeout 30m \
	-run 'TestVolumeLifecycle/noudev' ./test/vm/ >"$log.vm" 2>&1; then
	cp "$log.vm" bin/capture-vm.log
	tail -n 30 "$log.vm"
	echo "capture: the VM test failed" >&2
	exit 1
fi
cp "$log.vm" bin/capture-vm.log # for CAPTURE_VM_LOG
grep -q -- '--- PASS: TestVolumeLifecycle/noudev' "$log.vm" || { echo "capture: the VM test did not pass" >&2; exit 1; }

python3 - "$log.host" "$log.vm" "$out" "$(git rev-parse HEAD)" "$(uname -r)" <<'EOF'
import json, re, sys, datetime
host, vm, out, commit, kernel = sys.argv[1:]
steps = {}
for line in open(host):
    s = json.loads(line)
    steps[s.pop('name')] = s
want = {'doctor-json', 'status-json', 'wrong-key-d', 'doctor-no-caam'}
lines = open(vm).read().split('\n')
head = re.compile(r'^\s+\S+_test\.go:\d+: step (\S+) rc=(-?\d+) \S+:$')
for i, l in enumerate(lines):
    m = head.match(l)
    if not m or m.group(1) not in want:
        continue
    # go test indents a log message's further lines by 8 spaces.
    body = []
    for b in lines[i + 1:]:
        if not b.startswith('        ') and b.strip():
            break
        body.append(b[8:])
    while body and not body[-1].strip():
        body.pop()
    steps['vm/' + m.group(1)] = {'command': '(test/vm/volume_test.go step %s)' % m.group(1),
                                 'rc': int(m.group(2)), 'output': '\n'.join(body)}
missing = want - {k[3:] for k in steps if k.startswith('vm/')}
if missing:
    sys.exit('capture: steps not found in the VM log: %s' % sorted(missing))
doc = {'about': 'Real caamcrypt output, written by test/yocto/capture-oeqa-data.sh; do not edit by hand.',
       'commit': commit, 'host_kernel': kernel,
       'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%MZ'),
       'steps': steps}
with open(out + '.tmp', 'w') as f:
    json.dump(doc, f, indent=1, sort_keys=True)
    f.write('\n')
import os
os.replace(out + '.tmp', out)
print('capture: wrote %s (%d steps)' % (out, len(steps)))
EOF
