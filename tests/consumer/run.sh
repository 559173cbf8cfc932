#!/bin/sh
# Builds and runs a throwaway consumer of cbk_token three ways:
#   1. add_subdirectory() of this source tree (CMake)
#   2. find_package(cbk_token) against `cmake --install --prefix $BUILD/prefix`
#   3. pkg-config, with PKG_CONFIG_PATH at that prefix and nothing else
# and closes with "consumer: N passed, M failed". Every build directory is
# made afresh under $BUILD/consumer. The libcurl parts need libcurl's
# development files; without them they are skipped, except under CI (CI=true
# or CBK_REQUIRE_ALL=1), where that is a failure. Needs cmake, pkg-config, cc.
set -u
cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CC=${CC:-cc}
export CC
OUT=$BUILD/consumer
PREFIX=$BUILD/prefix
SRC=$ROOT/tests/consumer
WARN="-std=c99 -Wall -Wextra -Wpedantic -Werror"

. tests/lib.sh
counts_init
step() { # step NAME CMD...: one check
    name=$1
    shift
    echo "-- $name"
    if "$@"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "!! $name failed"
    fi
}

for tool in cmake pkg-config "$CC"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "consumer: $tool not found (apt-get install cmake pkg-config build-essential)"
        echo "consumer: 0 passed, 1 failed"
        exit 1
    fi
done

curl=0
if pkg-config --exists libcurl 2>/dev/null; then
    curl=1
elif [ "$require_all" = 1 ]; then
    echo "!! libcurl development files not found: the curl consumers cannot run"
    failed=$((failed + 1))
else
    echo "-- SKIP the curl consumers: libcurl development files not found (apt-get install libcurl4-openssl-dev)"
    skipped=$((skipped + 1))
fi
req_curl=OFF
[ "$curl" = 1 ] && req_curl=ON

rm -rf "$OUT" "$PREFIX"
mkdir -p "$OUT"

# The library itself: configure and install into the throwaway prefix.
step "install cbk_token into $PREFIX" sh -c '
    cmake -S "$1" -B "$2/lib" -DCMAKE_INSTALL_PREFIX=/nonexistent -DCBK_TOKEN_CLI=OFF \
        >"$2/lib.log" 2>&1 &&
    cmake --install "$2/lib" --prefix "$3" >>"$2/lib.log" 2>&1 || { cat "$2/lib.log"; exit 1; }
    test -f "$3/include/cbk_token/cbk_token.h" &&
    test -f "$3/include/cbk_token/adapters/cbk_token_curl.h" &&
    test -f "$3/include/cbk_token/adapters/cbk_token_posix.h" &&
    test -f "$3/include/cbk_token/adapters/cbk_token_http1.h" &&
    test -f "$3/share/cmake/cbk_token/cbk_tokenConfig.cmake" &&
    test -f "$3/share/cmake/cbk_token/cbk_tokenConfigVersion.cmake" &&
    test -f "$3/share/pkgconfig/cbk_token.pc"' sh "$ROOT" "$OUT" "$PREFIX"

# cmake_consumer MODE EXTRA-ARGS...: configure, build, run the programs.
cmake_consumer() {
    mode=$1
    shift
    dir=$OUT/$mode
    cmake -S "$SRC" -B "$dir" -DCBK_TOKEN_CONSUME="$mode" -DCBK_TOKEN_REQUIRE_CURL=$req_curl \
        -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON "$@" >"$dir.log" 2>&1 &&
        cmake --build "$dir" >>"$dir.log" 2>&1 || {
        cat "$dir.log"
        return 1
    }
    grep -E "^-- cbk_token [0-9]" "$dir.log" || true
    "$dir/consumer" || return 1
    if [ "$curl" = 1 ]; then "$dir/consumer_curl" || return 1; fi
}

step "CMake: add_subdirectory()" cmake_consumer subdirectory
step "CMake: find_package(cbk_token) from the prefix" \
    cmake_consumer package -DCMAKE_PREFIX_PATH="$PREFIX"

# pkg-config: only the prefix's .pc files, and the system's for libcurl.
pc() { PKG_CONFIG_PATH=$PREFIX/share/pkgconfig pkg-config "$@"; }
pkgconfig_consumer() {
    dir=$OUT/pkgconfig
    mkdir -p "$dir"
    version=$(pc --modversion cbk_token) || return 1
    header=$(sed -n 's/^#define CBK_TOKEN_VERSION[ \t]*"\(.*\)"/\1/p' "$PREFIX/include/cbk_token/cbk_token.h")
    echo "pkg-config: cbk_token $version, cflags $(pc --cflags cbk_token)"
    [ "$version" = "$header" ] || {
        echo "cbk_token.pc says $version, the header $header"
        return 1
    }
    # shellcheck disable=SC2046
    $CC $WARN $(pc --cflags cbk_token) "$SRC/main.c" "$SRC/impl.c" -o "$dir/consumer" &&
        "$dir/consumer" || return 1
    if [ "$curl" = 1 ]; then
        # shellcheck disable=SC2046
        $CC $WARN $(pc --cflags cbk_token-curl) "$SRC/curl.c" -o "$dir/consumer_curl" \
            $(pc --libs cbk_token-curl) && "$dir/consumer_curl" || return 1
    fi
}
step "pkg-config: cbk_token.pc from the prefix" pkgconfig_consumer

counts_line "consumer: "
[ "$failed" -eq 0 ]
