# Checks sourced by tests/guests/run.sh (its helpers: run, check, $OUT, $G,
# $EMBER, $st). Output plumbing (docs/security.md, "Hostile plumbing"):
# a reader of the guest's console that goes away or stalls must neither end
# Ember nor keep it from stopping on SIGTERM.

# stop_and_wait PID SECONDS: SIGTERM to PID (an ember this script started),
# then its status in $st, or 999 if it had not ended after SECONDS (it is
# then killed with SIGKILL). Call it in this shell, not in $(...): only the
# parent reaps the child, and a zombie still answers kill -0.
ended() { [ ! -d "/proc/$1" ] || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
stop_and_wait() {
	local pid=$1 n=0
	kill -TERM "$pid" 2>/dev/null
	while ! ended "$pid" && [ "$n" -lt $(($2 * 10)) ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if ! ended "$pid"; then
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

# stdout a FIFO that is open but never read: the guest's output stalls.
# Then a line is typed (stdin, another FIFO kept open): the main loop must
# take it without waiting for the output (it used to block on the serial
# lock a stalled write held), and SIGTERM must still stop Ember.
mkfifo "$OUT/stalled" "$OUT/typed"
exec 7<>"$OUT/stalled" 8<>"$OUT/typed"
"$EMBER" run --firmware $G/chatter.bin >"$OUT/stalled" 2>"$OUT/stalled.err" <"$OUT/typed" &
epid=$!
sleep 3 # the pipe is full (64 KiB, a VM exit each byte)
echo typed >&8
sleep 1
stop_and_wait "$epid" 10
exec 7>&- 8>&-
check "serial output: stdout stalled (a FIFO nobody reads), input typed, SIGTERM still stops ember (status $st, want 143)" \
	[ "$st" = 143 ]
