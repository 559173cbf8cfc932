#!/bin/sh
# Conformance of cbk_token.h with the official Node SDK (@chatbotkit/sdk 1.36.0
# and 1.1.9). Run from anywhere; tests/run_tests.sh runs it from the repo root
# as `sh tests/conformance/run.sh`.
#
#   1. installs the pinned SDKs (tests/conformance/package.json, npm aliases)
#      into build/conformance/ unless they are there already: needs npm and
#      the npm registry;
#   2. builds build/conformance/driver (cbk_token.h + the libcurl adapter, or
#      the POSIX one when libcurl's development files are missing);
#   3. runs conformance.mjs, which ends with one line "N passed, M failed".
#
# Exit status 0 only when every case matched. Extra arguments go to
# conformance.mjs (--filter TEXT, --verbose, --jobs N).
set -u
cd "$(dirname "$0")/../.." || exit 2
SRC=tests/conformance
OUT=${BUILD:-build}/conformance

fail() {
    echo "conformance: $*" >&2
    echo "0 passed, 1 failed"
    exit 1
}

command -v node >/dev/null 2>&1 || fail "node not found (Node.js 20 or newer is needed)"
command -v npm >/dev/null 2>&1 || fail "npm not found"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
    fail "node $(node --version) is too old: @chatbotkit/sdk 1.36.0 needs Node.js 20 or newer"

mkdir -p "$OUT" || fail "cannot create $OUT"

# Runs may overlap (two test runs in one work tree): the install happens under
# a lock, and each run builds and runs its own driver binary and log.
tmp_driver="$OUT/driver.$$"
log="$OUT/run.$$.log"
lock="$OUT/.install-lock"
have_lock=0
# shellcheck disable=SC2317 # called by the traps
cleanup() {
    rm -f "$tmp_driver" "$log"
    [ "$have_lock" = 1 ] && rmdir "$lock" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# ---- 1. the SDKs -----------------------------------------------------------
installed() {
    [ -f "$OUT/node_modules/sdk-1.36.0/package.json" ] &&
        [ -f "$OUT/node_modules/sdk-1.1.9/package.json" ] &&
        cmp -s "$SRC/package.json" "$OUT/package.json" &&
        cmp -s "$SRC/package-lock.json" "$OUT/package-lock.json.src"
}
waited=0
until mkdir "$lock" 2>/dev/null; do
    waited=$((waited + 1))
    [ "$waited" -gt 120 ] && fail "another run has held $lock for 2 minutes (remove it if no run is going on)"
    sleep 1
done
have_lock=1
if ! installed; then
    echo "conformance: installing @chatbotkit/sdk 1.36.0 and 1.1.9 into $OUT"
    rm -rf "$OUT/node_modules" "$OUT/package-lock.json.src"
    cp "$SRC/package.json" "$SRC/package-lock.json" "$OUT/" || fail "cannot copy package files to $OUT"
    npm_log="$OUT/npm-install.log"
    if ! (cd "$OUT" && npm ci --no-audit --no-fund --loglevel=error) >"$npm_log" 2>&1; then
        tail -n 25 "$npm_log" >&2
        fail "npm ci in $OUT failed (is the npm registry reachable? full log: $npm_log)"
    fi
    cp "$SRC/package-lock.json" "$OUT/package-lock.json.src"
    installed || fail "the SDKs are not where npm should have put them ($OUT/node_modules)"
fi
rmdir "$lock"
have_lock=0

# ---- 2. the C driver ---------------------------------------------------------
CC=${CC:-cc}
# The libcurl adapter when libcurl's development files are there, else the
# POSIX one (the cases are plain http:// on loopback: either carries them)
if [ "${CBK_HAVE_CURL:-}" != 0 ] && command -v pkg-config >/dev/null 2>&1 &&
    pkg-config --exists libcurl; then
    NET_FLAGS=$(pkg-config --cflags libcurl)
    NET_LIBS=$(pkg-config --libs libcurl)
    echo "conformance: the driver uses the libcurl adapter"
else
    NET_FLAGS=-DCBK_DRIVER_POSIX
    NET_LIBS=
    set -- --no-gzip "$@" # that adapter sends no Accept-Encoding and decodes none
    echo "conformance: the driver uses the POSIX adapter (libcurl development files not found)"
fi
# shellcheck disable=SC2086 # the flags are word lists
$CC -std=c99 -Wall -Wextra -Wpedantic -Werror -I. $NET_FLAGS \
    "$SRC/driver.c" -o "$tmp_driver" $NET_LIBS || fail "building the driver failed"

# ---- 3. the comparison ---------------------------------------------------------
node "$SRC/conformance.mjs" --modules "$OUT/node_modules" --driver "$tmp_driver" "$@" >"$log" 2>&1
rc=$?
cat "$log"
# kept for a look afterwards (build/conformance/driver < case, last-run.log)
cp "$log" "$OUT/last-run.log" 2>/dev/null
mv -f "$tmp_driver" "$OUT/driver" 2>/dev/null
if ! tail -n 1 "$log" | grep -Eq '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$'; then
    echo "conformance: conformance.mjs ended without its summary (exit $rc)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi
exit "$rc"
