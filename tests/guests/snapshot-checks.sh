# Checks sourced by tests/guests/run.sh (its helpers: check, $OUT, $G,
# $EMBER, $st, and api-checks.sh's api_up, api_end, ticks_in_order,
# clock_steps): snapshot and restore (docs/snapshot.md) of ticker.bin, which
# prints "tick N clock C" every 20-40 ms. A snapshot taken while it runs
# leaves it running; one with --stop ends it; a restore goes on counting
# from the tick after the last one printed, its kvmclock where it was.

S=$OUT/snap
A=$OUT/snap.sock
truncate -s 1M "$OUT/snapdisk.img"
"$EMBER" run --firmware $G/ticker.bin --cpus 2 --disk "path=$OUT/snapdisk.img" --api "$A" \
	>"$OUT/snap1.out" 2>"$OUT/snap1.err" </dev/null &
spid=$!
api_up "$A"
sleep 1
"$EMBER" ctl "$A" snapshot "$S.live" >"$OUT/snap-live.out" 2>&1
st_live=$?
b1=$(stat -c %s "$OUT/snap1.out")
sleep 1
b2=$(stat -c %s "$OUT/snap1.out")
check "snapshot: ember ctl snapshot DIR saves a running VM (2 vCPUs), which goes on running (status $st_live, $b1 then $b2 bytes)" \
	bash -c "[ $st_live -eq 0 ] && grep -q '^{\"id\":1,\"ok\":true,\"state\":\"running\",\"state_bytes\":[1-9]' $OUT/snap-live.out &&
		[ -s $S.live/state ] && [ -f $S.live/memory ] && [ $b2 -gt $b1 ]"
mem_size=$(stat -c %s "$S.live/memory")
mem_used=$(( $(stat -c %b "$S.live/memory") * 512 ))
check "snapshot: the memory file has the guest's 256 MiB, sparse: $((mem_used / 1024)) KiB on disk" \
	bash -c "[ $mem_size -eq 268435456 ] && [ $mem_used -lt 4194304 ]"

t_snap=$(date +%s%N)
"$EMBER" ctl "$A" snapshot "$S" --stop >"$OUT/snap-stop.out" 2>&1
st_stop=$?
api_end $spid 10
check "snapshot: --stop saves and ends ember with status 0; the socket is gone (status $st_stop, ember $st)" \
	bash -c "[ $st_stop -eq 0 ] && grep -q '\"state\":\"stopping\"' $OUT/snap-stop.out && [ $st -eq 0 ] &&
		[ ! -e $A ] && ! grep -qE 'seccomp|Sanitizer|runtime error' $OUT/snap1.err"
# The last whole line: the one being printed when the VM stopped may be cut (its rest comes
# from the restored guest).
last=$(perl -ne 'print if /^tick \d+ clock \d+\n\z/' "$OUT/snap1.out" | tail -1)
last_n=$(echo "$last" | cut -d' ' -f2)
last_c=$(echo "$last" | cut -d' ' -f4)

sleep 2 # the snapshot waits: the restored kvmclock must count this time
"$EMBER" run --restore "$S" --api "$A" >"$OUT/snap2.out" 2>"$OUT/snap2.err" </dev/null &
spid=$!
api_up "$A"
sleep 1.5
"$EMBER" ctl "$A" status >"$OUT/snap2-status.out" 2>&1
"$EMBER" ctl "$A" poweroff >/dev/null 2>&1
api_end $spid 10
waited=$((($(date +%s%N) - t_snap) >> 20)) # in the ticker's clock units (2^20 ns)
first=$(grep -a '^tick [0-9]* clock [0-9]*$' "$OUT/snap2.out" | head -1)
first_n=$(echo "$first" | cut -d' ' -f2)
first_c=$(echo "$first" | cut -d' ' -f4)
# The line being printed when the snapshot was taken may be cut in snap1.out and
# finished in snap2.out: the first whole tick is the next one, or that one.
check "restore: the guest counts on from the snapshot: last tick before $last_n, first after ${first_n:-none}; 2 vCPUs (ember $st)" \
	bash -c "[ -n '$first_n' ] && [ -n '$last_n' ] && [ $first_n -ge $last_n ] && [ $first_n -le \$(($last_n + 2)) ] &&
		grep -q '\"vcpus\":2' $OUT/snap2-status.out && [ $st -eq 143 ] && ! grep -qE 'seccomp|Sanitizer|runtime error' $OUT/snap2.err"
# kvmclock goes on from the saved value plus the wall-clock time the snapshot waited
# (KVM_CLOCK_REALTIME): at least the 2 s slept, at most all the time since the save.
check "restore: the guest's kvmclock moved on by the time the snapshot waited: $last_c before, ${first_c:-none} after (at most $waited)" \
	bash -c "[ -n '$first_c' ] && [ \$(($first_c - $last_c)) -ge 1700 ] && [ \$(($first_c - $last_c)) -le $waited ]"

# A damaged or truncated snapshot, another version, a disk of another size: refused, status 1.
cp -r "$S" "$S.bad"
printf '\x55' | dd of="$S.bad/state" bs=1 seek=200 conv=notrunc status=none
timeout 30 "$EMBER" run --restore "$S.bad" >"$OUT/snap-bad.out" 2>"$OUT/snap-bad.err" </dev/null
st_bad=$?
cp "$S/state" "$S.bad/state"
truncate -s 1M "$S.bad/memory"
timeout 30 "$EMBER" run --restore "$S.bad" >/dev/null 2>"$OUT/snap-trunc.err" </dev/null
st_trunc=$?
cp "$S/memory" "$S.bad/memory"
printf '\x02' | dd of="$S.bad/state" bs=1 seek=8 conv=notrunc status=none
timeout 30 "$EMBER" run --restore "$S.bad" >/dev/null 2>"$OUT/snap-ver.err" </dev/null
st_ver=$?
truncate -s 2M "$OUT/snapdisk.img"
timeout 30 "$EMBER" run --restore "$S" >/dev/null 2>"$OUT/snap-disksize.err" </dev/null
st_size=$?
mv "$OUT/snapdisk.img" "$OUT/snapdisk.moved"
timeout 30 "$EMBER" run --restore "$S" >/dev/null 2>"$OUT/snap-nodisk.err" </dev/null
st_nodisk=$?
check "restore: a flipped byte, a truncated memory file, another version, a disk of another size and a missing disk are refused with the cause, status 1 ($st_bad $st_trunc $st_ver $st_size $st_nodisk)" \
	bash -c "[ $st_bad -eq 1 ] && grep -q 'checksum mismatch' $OUT/snap-bad.err &&
		[ $st_trunc -eq 1 ] && grep -q 'damaged or truncated' $OUT/snap-trunc.err &&
		[ $st_ver -eq 1 ] && grep -q 'header is damaged\|format version' $OUT/snap-ver.err &&
		[ $st_size -eq 1 ] && grep -q 'when the snapshot was taken' $OUT/snap-disksize.err &&
		[ $st_nodisk -eq 1 ] && grep -q 'snapdisk.img' $OUT/snap-nodisk.err"
