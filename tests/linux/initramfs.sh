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

# Copies modules named in $2.. (by base name, without .ko) from the kit's
# module tree into $1/lib/modules and appends each copied name to
# $1/lib/modules/load-order. A name built into the kernel or absent is noted
# on stderr and skipped.
initramfs_add_modules() {
	local root=$1 mod path
	shift
	for mod in "$@"; do
		path=$(find -L "$KIT/modules/kernel" -name "$mod.ko" -print -quit)
		if [[ -n "$path" ]]; then
			cp "$path" "$root/lib/modules/$mod.ko"
			echo "$mod" >>"$root/lib/modules/load-order"
		elif grep -q "/$mod\.ko\$" "$KIT/modules/modules.builtin"; then
			kit_log "module $mod is built into $(cat "$KIT/kver")"
		else
			kit_log "module $mod does not exist in $(cat "$KIT/kver"), skipped"
		fi
	done
}

# Reads module names from file $1 (one a line, # comments allowed).
initramfs_module_list() {
	sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1"
}

# Packs staging tree $1 into gzip'd newc cpio $2, owned by root whoever runs it.
initramfs_pack() {
	local root=$1 out=$2
	mkdir -p "$(dirname "$out")"
	(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) | gzip -6 >"$out.tmp"
	mv "$out.tmp" "$out"
}
