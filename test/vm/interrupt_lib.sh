# Shell helpers of the kill and signal scenarios (interrupt_test.go),
# sourced by each step. The caamcrypt binary is built with the test-only
# pause hooks (build tag caamcrypt_testhooks).
M=/tmp/caamcrypt-pause
CC=/usr/bin/caamcrypt
fail=0
bad() { echo "BAD: $*"; fail=1; }

# nothing_left MNT: no mapping, no caamcrypt key in any keyring, MNT not mounted.
nothing_left() {
	l=$(dmsetup ls)
	case "$l" in *"No devices found"*) ;; *) bad "mappings left: $(echo $l)" ;; esac
	if grep -q caamcrypt: /proc/keys; then bad "keys left: $(grep caamcrypt: /proc/keys)"; fi
	if grep -q " $1 " /proc/mounts; then bad "still mounted on $1"; fi
}

# start POINT CMD...: runs CMD in the background, paused at POINT; waits
# for the marker and checks it names POINT and this process (the stop
# landed where the test wants it).
start() {
	point=$1
	shift
	rm -f $M $M.tmp
	CAAMCRYPT_TEST_PAUSE=$point CAAMCRYPT_TEST_PAUSE_MARKER=$M "$@" >/tmp/cmd.out 2>&1 &
	pid=$!
	i=0
	while [ ! -s $M ] && [ $i -lt 1200 ] && kill -0 $pid 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	if [ "$(cat $M 2>/dev/null)" = "$point $pid" ]; then
		echo "LANDED $point pid $pid"
	else
		bad "did not land at $point (marker: '$(cat $M 2>/dev/null)', pid $pid)"
		sed 's/^/  | /' /tmp/cmd.out
	fi
}

# hit SIG: sends SIG to the paused process and waits for it; sets rc.
hit() {
	kill -$1 $pid 2>/dev/null
	wait $pid
	rc=$?
	echo "rc=$rc after SIG$1"
	sed 's/^/  | /' /tmp/cmd.out
}

# want_sig_rc SIG: the exit status a process ends with after SIG.
want_sig_rc() {
	case $1 in
	KILL) w=137 ;;
	INT) w=130 ;;
	TERM) w=143 ;;
	esac
	[ "$rc" = "$w" ] || bad "exit $rc after SIG$1, want $w"
}

verdict() {
	echo "VERDICT fail=$fail"
	exit $fail
}
