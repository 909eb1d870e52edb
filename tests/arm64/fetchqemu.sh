#!/usr/bin/env bash
# An arm64 QEMU for the arm64 test host, where it runs guests on KVM beside
# Ember (tests/arm64/bench.sh). Downloads (without installing) Debian 12's
# qemu-system-arm:arm64, which holds qemu-system-aarch64, and every arm64
# shared library it needs: the NEEDED entries of the binary and of each
# library it pulls in, recursively (aarch64-linux-gnu-readelf), each soname
# mapped to its Debian package through this machine's own copy of that
# library (dpkg -S on its x86_64-linux-gnu twin: tests/deps.sh installs
# qemu-system-arm, whose libraries are the same set) and, failing that,
# looked for in the lib* packages the ones fetched depend on. libc6:arm64
# brings the dynamic loader. The result is a tree to copy over the test
# host's busybox root (testhost.sh -o):
#   build/kit-arm64/qemu/root/usr/bin/qemu-system-aarch64
#   build/kit-arm64/qemu/root/lib/ld-linux-aarch64.so.1   (its PT_INTERP)
#   build/kit-arm64/qemu/root/usr/lib/aarch64-linux-gnu/  (the libraries,
#                                  by soname: the loader's default path)
# -M virt with -kernel or -bios needs no firmware files, so none are copied.
# Idempotent: made again only when qemu-system-arm:arm64's candidate version
# changed. Prints the tree's path. EMBER_APT_UPDATE=1 runs apt-get update first.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

out="$A64_KIT/qemu"
root="$out/root"
debs="$out/debs"
pkgs="$out/pkgs"
readelf=${A64_CC%gcc}readelf
command -v "$readelf" >/dev/null || a64_die "$readelf missing; run tests/deps.sh"
a64_apt_lists

ver=$(apt-cache policy qemu-system-arm:arm64 | awk '$1 == "Candidate:" { print $2 }')
[[ -n "$ver" && "$ver" != "(none)" ]] ||
	a64_die "no candidate for qemu-system-arm:arm64 (stale apt lists? try EMBER_APT_UPDATE=1)"
if [[ -x "$root/usr/bin/qemu-system-aarch64" && "$(cat "$out/.version" 2>/dev/null || true)" == "$ver" ]]; then
	printf '%s\n' "$root"
	exit 0
fi
mkdir -p "$debs" "$pkgs"

declare -A have=() # package -> its unpacked directory
# fetch PKG...: downloads and unpacks the packages not fetched yet.
fetch() {
	local want=() p files f dir
	for p in "$@"; do
		[[ -n "${have[$p]:-}" ]] || want+=("$p")
	done
	((${#want[@]})) || return 0
	# Not in a pipe: a failed download must end this script (set -e).
	files=$(a64_fetch_debs "$debs" "${want[@]}")
	[[ $(wc -l <<<"$files") -eq ${#want[@]} ]] || a64_die "cannot download ${want[*]}"
	for f in $files; do
		dir=$(a64_unpack_deb "$f" "$pkgs")
		p=$(basename "$f")
		have[${p%%_*}]=$dir
	done
}

# soname_index: "SONAME PATH" for every shared library in the unpacked packages.
soname_index() {
	local p
	for p in "${have[@]}"; do
		find "$p/lib" "$p/usr/lib" -maxdepth 2 -name '*.so*' \( -type f -o -type l \) 2>/dev/null || true
	done | awk -F/ '{ print $NF, $0 }' | LC_ALL=C sort -u -k1,1
}

# closure: sets libs (SONAME -> PATH) to what qemu-system-aarch64 needs that
# the packages hold, and missing to the sonames none of them holds.
declare -A libs=()
missing=()
closure() {
	local -A index=() seen=()
	local so path queue=("${have[qemu-system-arm]}/usr/bin/qemu-system-aarch64") f
	while read -r so path; do
		index[$so]=$path
	done < <(soname_index)
	libs=() missing=()
	while ((${#queue[@]})); do
		f=${queue[0]}
		queue=("${queue[@]:1}")
		for so in $("$readelf" -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
			[[ -z "${seen[$so]:-}" ]] || continue
			seen[$so]=1
			if [[ -n "${index[$so]:-}" ]]; then
				libs[$so]=${index[$so]}
				queue+=("$(readlink -f "${index[$so]}")")
			else
				missing+=("$so")
			fi
		done
	done
}

# packages_of SONAME...: this machine's packages that hold the x86-64 twins.
packages_of() {
	local pats=() so
	for so in "$@"; do
		pats+=("*/x86_64-linux-gnu/$so")
	done
	dpkg -S "${pats[@]}" 2>/dev/null | sed -n -E 's/^([^:, ]+)(:[a-z0-9]+)?(, [^:]+)*: .*/\1/p' |
		LC_ALL=C sort -u || true
}

# lib_depends: the lib* packages the fetched ones depend on, not fetched yet.
lib_depends() {
	local p f
	for p in "${!have[@]}"; do
		for f in "$debs/${p}_"*_arm64.deb; do
			[[ ! -f "$f" ]] || dpkg-deb -f "$f" Depends
		done
	done | tr ',|' '\n' | sed -E 's/^ *([^ :(]+).*/\1/' | grep '^lib' | LC_ALL=C sort -u |
		while read -r p; do [[ -n "${have[$p]:-}" ]] || echo "$p"; done
}

fetch qemu-system-arm libc6
for round in 1 2 3 4 5 6 7 8 9 10; do
	closure
	((${#missing[@]})) || break
	a64_log "round $round: ${#missing[@]} libraries to find: ${missing[*]}"
	mapfile -t new < <(packages_of "${missing[@]}")
	fresh=()
	for p in "${new[@]}"; do
		[[ -n "${have[$p]:-}" ]] || fresh+=("$p")
	done
	if ((${#fresh[@]} == 0)); then
		mapfile -t fresh < <(lib_depends)
		((${#fresh[@]})) || a64_die "no package found for ${missing[*]}"
	fi
	fetch "${fresh[@]}"
done
((${#missing[@]} == 0)) || a64_die "still missing after 10 rounds: ${missing[*]}"

ld="${have[libc6]}/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"
[[ -f "$ld" ]] || a64_die "libc6:arm64 has no lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"
interp=$("$readelf" -l "${have[qemu-system-arm]}/usr/bin/qemu-system-aarch64" |
	sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
[[ "$interp" == /lib/ld-linux-aarch64.so.1 ]] || a64_die "unexpected program interpreter '$interp'"
tmp="$out/root.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/usr/bin" "$tmp/lib" "$tmp/usr/lib/aarch64-linux-gnu"
cp "${have[qemu-system-arm]}/usr/bin/qemu-system-aarch64" "$tmp/usr/bin/"
cp -L "$ld" "$tmp/lib/ld-linux-aarch64.so.1"
for so in "${!libs[@]}"; do
	[[ "$so" == ld-linux-aarch64.so.1 ]] || cp -L "${libs[$so]}" "$tmp/usr/lib/aarch64-linux-gnu/$so"
done
rm -rf "$root"
mv "$tmp" "$root"
printf '%s\n' "$ver" >"$out/.version"
a64_log "qemu-system-aarch64 $ver with ${#libs[@]} libraries from ${#have[@]} packages:" \
	"$root ($(du -sk "$root" | cut -f1) kB)"
printf '%s\n' "$root"
