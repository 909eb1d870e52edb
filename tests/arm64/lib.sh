# shellcheck shell=bash
# Shared paths and helpers of the arm64 test kit (tests/arm64/). Sourced, not
# run. Everything it downloads or builds goes to build/kit-arm64/ (kernel,
# busybox, initramfs images, logs) and build/arm64/ (the cross-build
# sysroot and the small programs built with it).

A64_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$A64_DIR/../.." && pwd)
A64_KIT="$REPO_ROOT/build/kit-arm64"
A64_BUILD="$REPO_ROOT/build/arm64"
A64_SYSROOT="$A64_BUILD/sysroot"
A64_CC=${A64_CC:-aarch64-linux-gnu-gcc}
export A64_DIR REPO_ROOT A64_KIT A64_BUILD A64_SYSROOT A64_CC

a64_log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
a64_die() { a64_log "error: $*"; exit 1; }

# Milliseconds since the epoch (GNU date).
a64_now_ms() { date +%s%3N; }

# Makes sure apt has arm64 package lists: dies with a hint when the arm64
# architecture is not enabled, runs apt-get update when no arm64 lists
# exist yet or EMBER_APT_UPDATE=1.
a64_apt_lists() {
	dpkg --print-foreign-architectures | grep -qx arm64 ||
		a64_die "apt has no arm64 architecture; run tests/deps.sh (dpkg --add-architecture arm64)"
	if [[ "${EMBER_APT_UPDATE:-0}" == 1 ]] ||
		! compgen -G '/var/lib/apt/lists/*_binary-arm64_Packages*' >/dev/null; then
		a64_log "apt-get update"
		apt-get update -qq
	fi
}

# a64_fetch_debs DIR PKG...: downloads the candidate versions of arm64
# packages PKG... into DIR, those whose .deb is not there yet; prints the
# .debs' paths, one a line, in the order given. One apt-cache and one
# apt-get call for all: each takes a second or more.
a64_fetch_debs() {
	local dir=$1 pkg ver file missing=() files=()
	local -A cand=()
	shift
	while read -r pkg ver; do
		cand[$pkg]=$ver
	done < <(apt-cache policy "${@/%/:arm64}" |
		awk '/^[^ ]/ { sub(/:arm64:$/, ""); p = $0 } $1 == "Candidate:" { print p, $2 }')
	mkdir -p "$dir"
	for pkg in "$@"; do
		ver=${cand[$pkg]:-}
		[[ -n "$ver" && "$ver" != "(none)" ]] ||
			a64_die "no candidate for $pkg:arm64 (stale apt lists? try EMBER_APT_UPDATE=1)"
		# apt writes an epoch's colon as %3a in .deb file names.
		file="$dir/${pkg}_${ver//:/%3a}_arm64.deb"
		files+=("$file")
		if [[ ! -s "$file" ]]; then
			a64_log "downloading $pkg:arm64 $ver"
			missing+=("$pkg:arm64=$ver")
		fi
	done
	if ((${#missing[@]})); then
		# apt-get download writes to the current directory. As root it
		# would try to drop to the _apt user, which cannot write here.
		(cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "${missing[@]}" >/dev/null)
	fi
	for file in "${files[@]}"; do
		[[ -s "$file" ]] || a64_die "apt-get download left no $file"
	done
	printf '%s\n' "${files[@]}"
}

# a64_unpack_deb DEB DIR: unpacks DEB into DIR/<deb name>/ unless a stamp
# says that was done completely; prints that directory.
a64_unpack_deb() {
	local deb=$1 dir
	dir="$2/$(basename "$deb" .deb)"
	if [[ ! -e "$dir/.unpacked" ]]; then
		a64_log "unpacking $(basename "$deb")"
		rm -rf "$dir"
		mkdir -p "$dir"
		dpkg-deb -x "$deb" "$dir"
		touch "$dir/.unpacked"
	fi
	printf '%s\n' "$dir"
}

# Fails with a hint unless fetch.sh has made the kit's stable paths.
a64_need_kit() {
	[[ -s "$A64_KIT/kver" && -f "$A64_KIT/Image" && -x "$A64_KIT/busybox" && -d "$A64_KIT/modules" ]] ||
		a64_die "arm64 kernel/busybox kit missing; run tests/arm64/fetch.sh first"
}

# a64_module_path NAME: the kit's module NAME (dashes and underscores
# alike), as a path relative to its modules tree; empty if there is none.
a64_module_path() {
	grep -m1 -E "/${1//[-_]/[-_]}\.ko\$" "$A64_KIT/modules.index" || true
}

# a64_module_deps PATH: the modules that module PATH (relative to the
# modules tree) needs, from the depends= of its .modinfo section (Debian's
# package has no modules.dep and this machine may have no depmod).
a64_module_deps() {
	"${A64_CC%gcc}objcopy" -O binary -j .modinfo "$A64_KIT/modules/$1" /dev/stdout |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '
}

# a64_modules_closure NAME...: prints the kit's modules NAME... with what
# they depend on, one path relative to the modules tree per line, each
# after its dependencies and once only. A module built into the kernel
# prints nothing (noted on stderr); one that does not exist fails.
a64_modules_closure() {
	local -A seen=()
	local mod
	_a64_visit() {
		local name=$1 path dep
		path=$(a64_module_path "$name")
		if [[ -z "$path" ]]; then
			if grep -qE "/${name//[-_]/[-_]}\.ko\$" "$A64_KIT/modules/modules.builtin"; then
				a64_log "module $name is built into $(cat "$A64_KIT/kver")"
				return 0
			fi
			a64_die "module $name does not exist in $(cat "$A64_KIT/kver")"
		fi
		[[ -z "${seen[$path]:-}" ]] || return 0
		seen[$path]=1
		for dep in $(a64_module_deps "$path"); do
			_a64_visit "$dep"
		done
		printf '%s\n' "$path"
	}
	for mod in "$@"; do
		_a64_visit "$mod"
	done
}

# a64_add_modules ROOT LIST NAME...: copies modules NAME... and what they
# depend on into ROOT/lib/modules/ (as NAME.ko) and appends the names of
# those not there yet, in load order, to ROOT/lib/modules/LIST. The /init
# scripts insmod the modules listed in load-order at boot.
a64_add_modules() {
	local root=$1 list=$2 rels rel name
	shift 2
	mkdir -p "$root/lib/modules"
	touch "$root/lib/modules/$list"
	# Not in a pipe: a missing module must end the caller (set -e).
	rels=$(a64_modules_closure "$@")
	for rel in $rels; do
		name=$(basename "$rel")
		name=${name%%.ko*}
		[[ ! -f "$root/lib/modules/$name.ko" ]] || continue
		cp "$A64_KIT/modules/$rel" "$root/lib/modules/$name.ko"
		echo "$name" >>"$root/lib/modules/$list"
	done
}

# a64_stage_busybox ROOT: a fresh staging tree at ROOT with the kit's
# arm64 busybox as /bin/busybox and /bin/sh, and the usual empty
# directories. The other applet links are made at boot by the /init
# scripts (busybox --install -s): the arm64 busybox cannot run here to list
# its applets.
a64_stage_busybox() {
	local root=$1
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,root,lib/modules}
	cp "$A64_KIT/busybox" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
}

# a64_pack ROOT OUT: packs ROOT into a newc cpio OUT, gzip'd if OUT ends in
# .gz, owned by root whoever runs it; OUT appears complete or not at all.
a64_pack() {
	local root=$1 out=$2 z=(cat)
	[[ "$out" != *.gz ]] || z=(gzip -6)
	mkdir -p "$(dirname "$out")"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) | "${z[@]}" >"$out.tmp.$$"
	mv "$out.tmp.$$" "$out"
}
