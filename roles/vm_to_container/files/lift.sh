#!/bin/sh
# lift.sh CONTEXT PATH...: a Docker build context FROM scratch holding PATH... (files or
# directories, symlinks kept and their targets added) and the shared libraries every
# ELF file among them needs (from ldd), plus /tmp. Used by the vm_to_container role.
set -eu
ctx=$1
shift
rm -rf "$ctx"
mkdir -p "$ctx/rootfs/tmp"
chmod 0700 "$ctx"  # it holds copies of the service's config; the rootfs inside keeps the modes it had
chmod 1777 "$ctx/rootfs/tmp"
add() {
    [ -e "$1" ] || [ -L "$1" ] || return 0
    # not cp --parents: coreutils 9.1 (Debian 12) copies but exits 1 with -a
    mkdir -p "$ctx/rootfs$(dirname "$1")"
    cp -a "$1" "$ctx/rootfs$(dirname "$1")/"
    if [ -L "$1" ]; then
        add "$(readlink -f "$1")"
    fi
}
for path in "$@"; do
    add "$path"
done
# libraries of every executable or shared object copied
find "$ctx/rootfs" -type f \( -perm -u+x -o -name '*.so*' \) | while read -r file; do
    ldd "$file" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }'
done | sort -u | while read -r lib; do
    add "$lib"
done
printf 'FROM scratch\nCOPY rootfs/ /\n' > "$ctx/Dockerfile"
