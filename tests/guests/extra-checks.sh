# Checks sourced by tests/guests/run.sh (its helpers: run, check, $OUT, $G,
# $EMBER, $st). Output plumbing (docs/security.md, "Hostile plumbing"):
# a reader of the guest's console that goes away or stalls must neither end
# Ember nor keep it from stopping on SIGTERM.

# stop_and_wait PID SECONDS: SIGTERM to PID (an ember this script started),
# then its status in $st, or 999 if it had not ended after SECONDS (it is
# then killed with SIGKILL).
stop_and_wait() {
	local pid=$1 n=0
	kill -TERM "$pid" 2>/dev/null
	while kill -0 "$pid" 2>/dev/null && [ "$n" -lt $(($2 * 10)) ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		st=999
	else
		wait "$pid"
		st=$?
	fi
}

# ember run ... | head: head exits after 100 bytes; Ember goes on (no
# SIGPIPE death, status 141) and stops on SIGTERM with 128 + 15.
"$EMBER" run --firmware $G/chatter.bin 2>"$OUT/chatter-head.err" </dev/null \
	> >(head -c 100 >"$OUT/chatter-head.out") &
epid=$!
sleep 2
stop_and_wait "$epid" 10
check "serial output: the reader went away (| head), ember ran on and stopped on SIGTERM (status $st, want 143)" \
	bash -c "[ '$st' = 143 ] && [ \$(wc -c <$OUT/chatter-head.out) -eq 100 ]"

# stdout a FIFO that is open but never read: the guest's output stalls; the
# vCPU, the main loop and SIGTERM must not wait for it.
mkfifo "$OUT/stalled"
exec 7<>"$OUT/stalled"
"$EMBER" run --firmware $G/chatter.bin >"$OUT/stalled" 2>"$OUT/stalled.err" </dev/null &
epid=$!
sleep 2
stop_and_wait "$epid" 10
exec 7>&-
check "serial output: stdout stalled (a FIFO nobody reads), SIGTERM still stops ember (status $st, want 143)" \
	[ "$st" = 143 ]
