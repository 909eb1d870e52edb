# shellcheck shell=bash
# The checks of boot-tests.sh's qcow2-* scenarios, sourced by it (their
# guest side: guest/tests/qcow2-*.sh; host side: host/qcow2.sh).
# check_qcow2 runs inside check_scenario, with boot-tests.sh's helpers
# (check, marker, markers, check_fs_files) and its variables (name, log).
# The check conditions are single-quoted on purpose: check() evaluates them.
# shellcheck disable=SC2016,SC2154 # and name and log are boot-tests.sh's

# The first bytes of a qcow2 header (magic "QFI\xfb", version 2) and of
# the lines the guest writes where the header must not go (used in check
# conditions).
# shellcheck disable=SC2034
QCOW2_V2_HEAD=514649fb00000002
NOT_QCOW2_HEAD=454d4245522d4e4f542d51434f57320a

# qcow2_opts_taken: ember started with the scenario's --disk options (a
# build without format= or snapshot= refuses them at once); fails if not.
qcow2_opts_taken() {
	local v
	v=$(grep -a -m1 -E '^EMBER-STDERR: .*(invalid|unknown).*disk' "$log" || true)
	check '[[ -z $v ]]' "$name: ember takes the --disk options" "${v#EMBER-STDERR: }"
	[[ -z $v ]]
}

# qcow2_check_rw DISK WHAT: what guest/tests/qcow2-rw.sh reported for DISK
# against what the host side knows it held (EMBER-HOST-DATA-SHA256) and
# must hold after the writes (EMBER-HOST-WANT-SHA256).
qcow2_check_rw() {
	local d=$1 what=$2 v want
	v=$(marker "EMBER-SECTORS-$d" "$log")
	check '[[ $v == 16384 ]]' "$name: $d has 8 MiB (16384 sectors)" "EMBER-SECTORS-$d='$v'"
	want=$(marker EMBER-HOST-DATA-SHA256 "$log")
	v=$(marker "EMBER-BEFORE-SHA256-$d" "$log")
	check '[[ -n $want && $v == "$want" ]]' "$name: $d: guest reads $what" "image data $want, guest read '$v'"
	v=$(marker "EMBER-WRITES-$d" "$log")
	check '[[ $v == ok ]]' "$name: $d: guest wrote ember.writes (O_DIRECT, page cache)" \
		"$(marker EMBER-WRITE-FAILED "$log")"
	want=$(marker EMBER-HOST-WANT-SHA256 "$log")
	v=$(marker "EMBER-AFTER-SHA256-$d" "$log")
	check '[[ -n $want && $v == "$want" ]]' "$name: $d: guest reads the data with its writes back (O_DIRECT)" \
		"expected $want, guest read '$v'"
}

# qcow2_check_image KEY WHAT [COMPAT CLUSTER]: host/qcow2.sh's qemu-img
# findings for the image noted as KEY: check clean, and with COMPAT and
# CLUSTER, the header's version and cluster size as they were made.
qcow2_check_image() {
	local k=$1 what=$2 compat=${3:-} cl=${4:-} v
	v=$(marker "EMBER-HOST-QCHECK-$k" "$log")
	check '[[ $v == 0 ]]' "$name: qemu-img check on $what: clean" \
		"status '$v': $(grep -a "^EMBER-HOST-QCHECK-OUT-$k: " "$log" | cut -d' ' -f2- | tr '\n' ';')"
	[[ -n "$compat" ]] || return 0
	v=$(marker "EMBER-HOST-QINFO-$k" "$log")
	check '[[ $v == "compat $compat cluster $cl" ]]' "$name: $what is still qcow2 compat=$compat with $cl-byte clusters" \
		"qemu-img info: '$v'"
}

# qcow2_check_compare KEY WHAT: qemu-img compare of the image noted as KEY
# with the raw file the host side built: identical.
qcow2_check_compare() {
	local v
	v=$(marker "EMBER-HOST-COMPARE-$1" "$log")
	check '[[ $v == 0 ]]' "$name: $2 (qemu-img compare: identical)" \
		"status '$v': $(grep -a "^EMBER-HOST-COMPARE-OUT-$1: " "$log" | cut -d' ' -f2- | tr '\n' ';')"
}

check_qcow2() {
	local v want d what info
	check_init_started || true
	# Without a guest the other checks would only say so again, or pass
	# on images that nothing touched.
	qcow2_opts_taken || return 0
	case "$name" in
	qcow2-data)
		v=$(marker EMBER-BLOCK-DEVS "$log")
		check '[[ $v == "vda vdb" ]]' "$name: guest sees vda and vdb" "EMBER-BLOCK-DEVS='$v'"
		for d in vda vdb; do
			if [[ $d == vda ]]; then
				what="vda (qcow2 v3, 64 KiB clusters)" info="1.1 65536"
			else
				what="vdb (qcow2 v2, 4 KiB clusters)" info="0.10 4096"
			fi
			v=$(marker "EMBER-SECTORS-$d" "$log")
			check '[[ $v == 131072 ]]' "$name: $what has 64 MiB (131072 sectors)" "EMBER-SECTORS-$d='$v'"
			check_fs_files "$d" "$d"
			v=$(marker "EMBER-WRITES-$d" "$log")
			check '[[ $v == ok ]]' "$name: $d: guest wrote ember.writes above the file system" \
				"$(marker EMBER-WRITE-FAILED "$log")"
			want=$(marker "EMBER-HOST-UPPER-SHA256-$d" "$log")
			v=$(marker "EMBER-UPPER-SHA256-$d" "$log")
			check '[[ -n $want && $v == "$want" ]]' "$name: $d: guest reads its writes and zeros back (O_DIRECT)" \
				"expected $want, guest read '$v'"
			# shellcheck disable=SC2086 # two words: compat and cluster size
			qcow2_check_image "$d" "$what" $info
			qcow2_check_compare "$d" "$d's image holds the file system, the writes and zeros elsewhere"
		done
		;;
	qcow2-overlay)
		qcow2_check_rw vda "the compressed base through the overlay"
		want=$(marker EMBER-HOST-BASE-SHA256-BEFORE "$log")
		v=$(marker EMBER-HOST-BASE-SHA256-AFTER "$log")
		check '[[ -n $want && $v == "$want" ]]' "$name: the base image is unchanged (sha256)" \
			"before $want, after '$v'"
		qcow2_check_image base "the base"
		qcow2_check_image vda "the overlay"
		qcow2_check_compare vda "the overlay holds the base's data with the guest's writes"
		;;
	qcow2-snapshot)
		for d in vda vdb; do
			[[ $d == vda ]] && what="raw" || what="qcow2"
			qcow2_check_rw "$d" "its $what image"
			want=$(marker "EMBER-HOST-SHA256-BEFORE-$d" "$log")
			v=$(marker "EMBER-HOST-SHA256-AFTER-$d" "$log")
			check '[[ -n $want && $v == "$want" ]]' "$name: $d's $what image is unchanged (sha256)" \
				"before $want, after '$v'"
		done
		qcow2_check_image vdb "vdb's image"
		v=$(marker EMBER-HOST-SNAPTMP-OPEN "$log")
		check '[[ $v =~ ^[0-9]+$ ]] && ((v > 0))' "$name: ember's overlays are open in TMPDIR ($v)" \
			"files open in TMPDIR while the guest ran: '$v'"
		v=$(marker EMBER-HOST-SNAPTMP-DURING "$log")
		check '[[ $v == 0 ]]' "$name: no name in TMPDIR while ember runs" "$v entries"
		v=$(marker EMBER-HOST-SNAPTMP-AFTER "$log")
		check '[[ $v == 0 ]]' "$name: nothing left in TMPDIR after ember exits" "$v entries"
		;;
	qcow2-rawguard)
		for v in DIRECT BUFFERED; do
			want=$(marker "EMBER-RG-RAW-WRITE-$v" "$log")
			check '[[ $want == ok ]]' "$name: vda (format=raw) takes a qcow2 header at sector 0 ($v)" \
				"EMBER-RG-RAW-WRITE-$v='$want'"
		done
		v=$(marker EMBER-RG-RAW-HEAD "$log")
		want=$(marker EMBER-HOST-RG-RAW-HEAD "$log")
		check '[[ $v == "$QCOW2_V2_HEAD"* && $want == "$QCOW2_V2_HEAD"* ]]' \
			"$name: vda and its image file start with the header" "guest '$v', file '$want'"
		for v in DIRECT BUFFERED; do
			want=$(marker "EMBER-RG-PROBED-WRITE-$v" "$log")
			check '[[ $want == refused* && $want == *"Input/output error"* ]]' \
				"$name: vdb (probed raw) fails a qcow2 header at sector 0 with an I/O error ($v)" \
				"EMBER-RG-PROBED-WRITE-$v='$want'"
			want=$(marker "EMBER-RG-PROBED-PLAIN-$v" "$log")
			check '[[ $want == ok ]]' "$name: vdb takes other data at sector 0 ($v)" \
				"EMBER-RG-PROBED-PLAIN-$v='$want'"
		done
		v=$(marker EMBER-RG-PROBED-HEAD "$log")
		want=$(marker EMBER-HOST-RG-PROBED-HEAD "$log")
		check '[[ $v == "$NOT_QCOW2_HEAD" && $want == "$NOT_QCOW2_HEAD" ]]' \
			"$name: vdb and its image file start with the other data, not the header" \
			"guest '$v', file '$want'"
		v=$(marker EMBER-HOST-RG-READ-STATUS "$log")
		check '[[ $v == 0 ]]' "$name: a second start on vda's image with format=raw exits 0" \
			"status '$v': $(grep -a '^EMBER-HOST-RG-READ-OUT: ' "$log" | cut -d' ' -f2- | tr '\n' ';')"
		v=$(marker EMBER-HOST-RG-READ-SECTORS "$log")
		want=$(marker EMBER-HOST-RG-READ-HEAD "$log")
		check '[[ $v == 16384 && $want == "$QCOW2_V2_HEAD"* ]]' \
			"$name: there the image is raw: 8 MiB (not the header's 16), the header as data" \
			"sectors '$v', first bytes '$want'"
		v=$(marker EMBER-HOST-RG-READ-SECRET "$log")
		check '[[ $v == "not seen" ]]' "$name: the header's backing file (a host file) does not show" \
			"EMBER-HOST-RG-READ-SECRET='$v'"
		;;
	esac
}
