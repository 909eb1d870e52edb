# Checks sourced by tests/guests/run.sh (its helpers: check, $OUT, $G,
# $EMBER, $st): the API socket (docs/api.md) driven with `ember ctl` while
# ticker.bin prints "tick N" every 20-40 ms. Every run has its seccomp
# filters on, so the main thread's calls for the socket are checked too.

# api_up PATH: the socket appears within 10 s.
api_up() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# api_end PID SECONDS: wait for an ember this script started to end by itself;
# its status in $st, 999 if it had not ended in time (it is then killed).
api_end() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null || break
		sleep 0.1
	done
	if [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		st=999
	else
		wait "$1"
		st=$?
	fi
}

# ticks_in_order FILE: every line is "tick N clock C" with N counting up from 0 (the last
# may be cut).
ticks_in_order() {
	head -n -1 "$1" | perl -ne 'if (/^tick (\d+) clock \d+$/ && $1 == $n) { $n++ } else { $bad = 1 }
		END { exit($bad || $n < 2 ? 1 : 0) }'
}

# clock_steps FILE: the smallest and the largest step of the guest's kvmclock (C, about ms)
# from one tick to the next.
clock_steps() {
	head -n -1 "$1" | perl -ne 'next unless /^tick \d+ clock (\d+)$/;
		if (defined $p) { $d = $1 - $p; $min = $d if !defined $min || $d < $min;
			$max = $d if !defined $max || $d > $max }
		$p = $1; END { print $min + 0, " ", $max + 0, "\n" }'
}

size() { stat -c %s "$1"; }

A=$OUT/api.sock
"$EMBER" run -v --firmware $G/ticker.bin --api "$A" >"$OUT/api.out" 2>"$OUT/api.err" </dev/null &
apid=$!
api_up "$A"
"$EMBER" ctl "$A" events >"$OUT/api-events.out" 2>&1 &
evpid=$!
sleep 1
"$EMBER" ctl "$A" status >"$OUT/api-status.out" 2>&1
st=$?
check "api: status says running, 1 vCPU, 256 MiB, the serial port, exits counted (-v); socket mode 600 (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -q '^{\"id\":1,\"ok\":true,\"state\":\"running\",\"uptime\":[0-9.]*,\"vcpus\":1,\"memory\":268435456,\"devices\":\[\"serial\",' $OUT/api-status.out &&
		grep -qE '\"exits\":\{\"io\":[1-9]' $OUT/api-status.out && [ \$(stat -c %a $A) = 600 ]"

"$EMBER" ctl "$A" pause >"$OUT/api-pause.out" 2>&1
st=$?
b1=$(size "$OUT/api.out")
sleep 2
b2=$(size "$OUT/api.out")
"$EMBER" ctl "$A" status >"$OUT/api-paused.out" 2>&1
check "api: pause answers once the vCPU is parked; not one byte of output for 2 s; status says paused (status $st, $b1 then $b2 bytes)" \
	bash -c "[ $st -eq 0 ] && grep -qx '{\"id\":1,\"ok\":true,\"state\":\"paused\"}' $OUT/api-pause.out &&
		[ $b1 -gt 0 ] && [ $b1 -eq $b2 ] && grep -q '\"state\":\"paused\"' $OUT/api-paused.out"
"$EMBER" ctl "$A" pause >"$OUT/api-pause2.out" 2>&1
st=$?
check "api: pause when paused says ok (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx '{\"id\":1,\"ok\":true,\"state\":\"paused\"}' $OUT/api-pause2.out"

"$EMBER" ctl "$A" resume >"$OUT/api-resume.out" 2>&1
st=$?
sleep 1.5
b3=$(size "$OUT/api.out")
ticks_in_order "$OUT/api.out"
order=$?
read -r step_min step_max < <(clock_steps "$OUT/api.out")
check "api: resume; ticks go on, counting on from where they stopped (status $st, $b2 then $b3 bytes)" \
	bash -c "[ $st -eq 0 ] && grep -qx '{\"id\":1,\"ok\":true,\"state\":\"running\"}' $OUT/api-resume.out &&
		[ $b3 -gt $b2 ] && [ $order -eq 0 ]"
# Across the pause of more than 2 s the guest's kvmclock moved by no more than between two
# ticks (well under 1 s; about 2000 units if Ember had not held it), and never back.
check "api: the guest's kvmclock did not jump across the pause: steps of $step_min to $step_max (units of ~1 ms)" \
	bash -c "[ $step_min -ge 0 ] && [ $step_max -gt 0 ] && [ $step_max -lt 1000 ] && ! grep -q kvmclock $OUT/api.err"

# Bad requests get an error reply; the guest runs on.
"$EMBER" ctl "$A" '{"id":5,"cmd":' >"$OUT/api-bad.out" 2>&1
st_bad=$?
"$EMBER" ctl "$A" "$(printf '{"id":6,"cmd":"status","pad":"%05000d"}' 0)" >"$OUT/api-long.out" 2>&1
st_long=$?
"$EMBER" ctl "$A" shutdown >"$OUT/api-shutdown.out" 2>&1
st_sd=$?
b4=$(size "$OUT/api.out")
sleep 1
b5=$(size "$OUT/api.out")
"$EMBER" ctl "$A" status >"$OUT/api-after.out" 2>&1
check "api: a malformed request and a 5 KB line get errors; shutdown presses the power button, which this guest ignores; the guest keeps running (status $st_bad $st_long $st_sd)" \
	bash -c "[ $st_bad -eq 1 ] && grep -q '^{\"id\":null,\"ok\":false,\"error\":\"malformed request at byte 14' $OUT/api-bad.out &&
		[ $st_long -eq 1 ] && grep -q 'longer than 4096 bytes' $OUT/api-long.out &&
		[ $st_sd -eq 0 ] && grep -q '\"ok\":true' $OUT/api-shutdown.out &&
		[ $b5 -gt $b4 ] && grep -q '\"state\":\"running\"' $OUT/api-after.out"

timeout 60 "$EMBER" run --firmware $G/hello.bin --api "$A" >"$OUT/api-second.out" 2>"$OUT/api-second.err" </dev/null
st=$?
check "api: a second ember on the same live socket is refused, status 1 (got $st)" \
	bash -c "[ $st -eq 1 ] && grep -q 'another process answers on it' $OUT/api-second.err && [ -S $A ]"

"$EMBER" ctl "$A" poweroff >"$OUT/api-poweroff.out" 2>&1
st_po=$?
api_end $apid 10
st_ember=$st
# An ember that ended some other way says why on its stderr.
[ "$st_ember" -eq 143 ] || tail -n 12 "$OUT/api.err" | sed 's/^/#   api.err: /'
api_end $evpid 5
check "api: poweroff ends ember with the SIGTERM status 143; the socket is gone (status $st_po, $st_ember)" \
	bash -c "[ $st_po -eq 0 ] && grep -qx '{\"id\":1,\"ok\":true,\"state\":\"stopping\"}' $OUT/api-poweroff.out &&
		[ $st_ember -eq 143 ] && [ ! -e $A ] &&
		! grep -qE 'seccomp|Sanitizer|runtime error' $OUT/api.err"
check "api: ember ctl events saw paused, resumed, shutdown (poweroff) and exit 143, then the end (status $st)" \
	bash -c "[ $st -eq 0 ] && grep -qx '{\"event\":\"paused\"}' $OUT/api-events.out &&
		grep -qx '{\"event\":\"resumed\"}' $OUT/api-events.out &&
		grep -qx '{\"event\":\"shutdown\",\"reason\":\"poweroff requested on the API socket\",\"status\":143}' $OUT/api-events.out &&
		[ \"\$(tail -1 $OUT/api-events.out)\" = '{\"event\":\"exit\",\"status\":143}' ]"

# SIGTERM while paused (2 vCPUs, both parked) still ends Ember.
"$EMBER" run --firmware $G/ticker.bin --cpus 2 --api "$A" >"$OUT/api2.out" 2>"$OUT/api2.err" </dev/null &
apid=$!
api_up "$A"
"$EMBER" ctl "$A" pause >"$OUT/api2-pause.out" 2>&1
st_p=$?
kill -TERM $apid
api_end $apid 10
check "api: SIGTERM while paused (2 vCPUs) ends ember with 143; the socket is gone (pause $st_p, status $st)" \
	bash -c "[ $st_p -eq 0 ] && [ $st -eq 143 ] && [ ! -e $A ] && ! grep -q seccomp $OUT/api2.err"

# SIGTERM with a qcow2 disk: its worker thread starts while the VM is set
# up, and so do the vCPU threads. Every thread must hold the termination
# signals for the main loop; one that did not would die of SIGTERM (143
# too, but the socket would be left behind). The image: a valid empty 1 MiB
# qcow2 v2 (64 KiB clusters: header, L1 table, refcount table, refcount
# block, each with refcount 1).
Q=$OUT/term.qcow2
{
	printf 'QFI\373\0\0\0\2'                          # magic, version 2
	printf '\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\20'          # no backing file; cluster_bits 16
	printf '\0\0\0\0\0\20\0\0\0\0\0\0\0\0\0\1'          # size 1 MiB; no encryption; l1_size 1
	printf '\0\0\0\0\0\1\0\0\0\0\0\0\0\2\0\0\0\0\0\1'  # L1 at 64 KiB; refcount table at 128 KiB, 1 cluster
	printf '\0\0\0\0\0\0\0\0\0\0\0\0'                  # no snapshots
} >"$Q"
truncate -s 131072 "$Q"
printf '\0\0\0\0\0\3\0\0' >>"$Q" # refcount table: its block at 192 KiB
truncate -s 196608 "$Q"
printf '\0\1\0\1\0\1\0\1' >>"$Q" # refcount block: clusters 0-3 in use
truncate -s 262144 "$Q"
"$EMBER" run --firmware $G/ticker.bin --disk "$Q" --api "$A" >"$OUT/api3.out" 2>"$OUT/api3.err" </dev/null &
apid=$!
api_up "$A"
kill -TERM $apid
api_end $apid 10
check "api: SIGTERM with a qcow2 disk ends ember with 143; the socket is gone (status $st)" \
	bash -c "[ $st -eq 143 ] && [ ! -e $A ] && ! grep -q . $OUT/api3.err"
