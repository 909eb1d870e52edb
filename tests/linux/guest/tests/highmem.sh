#!/bin/sh
# ember.test=highmem: reports like check.sh, plus the System RAM that
# /proc/iomem shows in all and above 4 GiB (RAM continues there when
# --memory crosses the hole below 4 GiB).
sh /tests/check.sh
total=0
above=0
# Top-level lines only ("start-end : System RAM"); nested ones are indented.
while IFS= read -r line; do
	case "$line" in
	" "*) continue ;;
	*" : System RAM") ;;
	*) continue ;;
	esac
	range=${line%% :*}
	start=$((0x${range%-*}))
	end=$((0x${range#*-}))
	total=$((total + end - start + 1))
	if [ "$end" -ge $((0x100000000)) ]; then
		[ "$start" -lt $((0x100000000)) ] && start=$((0x100000000))
		above=$((above + end - start + 1))
	fi
	echo "EMBER-IOMEM-RAM=$range"
done </proc/iomem
echo "EMBER-RAM-TOTAL-KB=$((total / 1024))"
echo "EMBER-RAM-ABOVE-4G-KB=$((above / 1024))"
