# shellcheck shell=bash
# Helpers to stage and pack a busybox-static initramfs. Sourced, not run.

# Creates a staging tree at $1 with busybox and its applet links.
initramfs_stage_busybox() {
	local root=$1 applet
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,root,lib/modules}
	cp "$KIT/busybox" "$root/bin/busybox"
	for applet in $("$root/bin/busybox" --list); do
		[[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"
	done
	ln -s ../bin/busybox "$root/sbin/init"
}

# Copies module $2 (base name, without .ko) from the kit's module tree into
# $1/lib/modules. A module built into the kernel or absent is noted on stderr
# and fails.
initramfs_copy_module() {
	local root=$1 mod=$2 path
	path=$(find -L "$KIT/modules/kernel" -name "$mod.ko" -print -quit)
	if [[ -n "$path" ]]; then
		cp "$path" "$root/lib/modules/$mod.ko"
		return 0
	fi
	if grep -q "/$mod\.ko\$" "$KIT/modules/modules.builtin"; then
		kit_log "module $mod is built into $(cat "$KIT/kver")"
	else
		kit_log "module $mod does not exist in $(cat "$KIT/kver"), skipped"
	fi
	return 1
}

# Copies modules named in $2.. into $1/lib/modules and appends each copied
# name to $1/lib/modules/load-order (what /init loads, in that order).
initramfs_add_modules() {
	local root=$1 mod
	shift
	for mod in "$@"; do
		if initramfs_copy_module "$root" "$mod"; then
			echo "$mod" >>"$root/lib/modules/load-order"
		fi
	done
}

# Copies modules named in $2.. into $1/lib/modules without loading them at
# boot.
initramfs_copy_modules() {
	local root=$1 mod
	shift
	for mod in "$@"; do
		initramfs_copy_module "$root" "$mod" || true
	done
}

# Reads module names from file $1 (one a line, # comments allowed).
initramfs_module_list() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1"
}

# Packs staging tree $1 into gzip'd newc cpio $2, owned by root whoever runs
# it. The file appears complete or not at all (another run may be reading it).
initramfs_pack() {
	local root=$1 out=$2
	mkdir -p "$(dirname "$out")"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) | gzip -6 >"$out.tmp.$$"
	mv "$out.tmp.$$" "$out"
}
