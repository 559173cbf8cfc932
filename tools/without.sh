#!/bin/sh
# tools/without.sh DIR WORD... - a PATH that hides optional tools, to prove
# what a fresh machine sees (`make test WITHOUT="curl node cross qemu"`).
#
# Makes DIR/bin, a directory of links to every program on the current PATH
# except the hidden ones, and prints its absolute path (the Makefile puts it
# in PATH, alone). Every detection (`command -v`, `pkg-config --exists`)
# then finds what a machine without those packages would find. WORDs:
#
#   curl    libcurl's development files: pkg-config answers "not found" for
#           libcurl, curl-config is gone (the Makefile also honours
#           CBK_WITHOUT=curl in its own compiler probe)
#   node    node, nodejs, npm, npx, corepack
#   cross   the cross compilers: arm-none-eabi-*, riscv64-unknown-elf-*,
#           s390x-linux-gnu-*
#   qemu    qemu-*
#   lint    clang-tidy*, cppcheck, clang-format*
#   any other word: the program of that name (a shell glob: 'valgrind*')
set -eu
dir=$1
shift
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rm -rf "$dir/bin"
mkdir "$dir/bin"

patterns=
hide_curl=0
for w in "$@"; do
    case $w in
    curl)
        hide_curl=1
        patterns="$patterns curl-config"
        ;;
    node) patterns="$patterns node nodejs npm npx corepack" ;;
    cross) patterns="$patterns arm-none-eabi-* riscv64-unknown-elf-* s390x-linux-gnu-*" ;;
    qemu) patterns="$patterns qemu-*" ;;
    lint) patterns="$patterns clang-tidy* cppcheck clang-format*" ;;
    *) patterns="$patterns $w" ;;
    esac
done

hidden() {
    for p in $patterns; do
        # shellcheck disable=SC2254 # p is a glob on purpose
        case $1 in $p) return 0 ;; esac
    done
    return 1
}

set -f # the patterns are globs for case, not for the shell
old_ifs=$IFS
IFS=:
for d in $PATH; do
    IFS=$old_ifs
    [ -d "$d" ] || continue
    [ "$d" = "$dir/bin" ] && continue
    set +f
    for f in "$d"/*; do
        name=${f##*/}
        [ -x "$f" ] && [ ! -d "$f" ] || continue
        [ -e "$dir/bin/$name" ] && continue # the first on PATH wins, as in a lookup
        set -f
        if ! hidden "$name"; then ln -s "$f" "$dir/bin/$name"; fi
        set +f
    done
    set -f
done
IFS=$old_ifs
set +f

if [ "$hide_curl" = 1 ] && [ -e "$dir/bin/pkg-config" ]; then
    real=$(readlink "$dir/bin/pkg-config")
    rm "$dir/bin/pkg-config"
    cat >"$dir/bin/pkg-config" <<EOF
#!/bin/sh
# tools/without.sh: libcurl is hidden (WITHOUT=curl)
for a in "\$@"; do
    case \$a in libcurl*) echo "Package libcurl was not found (hidden by WITHOUT=curl)" >&2; exit 1 ;; esac
done
exec "$real" "\$@"
EOF
    chmod +x "$dir/bin/pkg-config"
fi
echo "$dir/bin"
