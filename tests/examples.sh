#!/bin/sh
# Builds and runs every example that can run offline, and closes with
# "examples: N passed, M failed".
#   examples/dropin/main.c  built exactly as its comment says (cc -I. ...),
#                           then strict C99 and C++; runs on canned bytes.
#   docs/porting.md         its generic helpers (section 3), extracted and
#                           run by tests/porting_check.c.
#   README.md               every C block marked <!-- readme-check: NAME -->:
#                           the complete program built (C99 and C++) and run
#                           against the mock API; the fragments built in one
#                           translation unit by tests/readme_check.c. A block
#                           that calls an adapter function this tree does not
#                           have yet is skipped, naming the function.
#   examples/cbk-token.c    the CLI, with both transports, against the local
#                           mock API (tests/mock_api.py on 127.0.0.1): create,
#                           list, stream, update, delete.
# Needs cc, c++, python3 and libcurl's development files; without python3 or
# libcurl the parts that need them are skipped, except under CI (CI=true or
# CBK_REQUIRE_ALL=1), where that is a failure.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
CC=${CC:-cc}
CXX=${CXX:-c++}
OUT=$BUILD/examples
WARN="-Wall -Wextra -Wpedantic -Werror"
. tests/lib.sh
counts_init
tmp=$(mktemp -d)
cleanup() {
    mock_stop
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { passed=$((passed + 1)); }
bad() {
    failed=$((failed + 1))
    echo "!! $1"
}
step() { # step NAME CMD...
    name=$1
    shift
    echo "-- $name"
    if "$@"; then ok; else bad "$name failed"; fi
}
skip() {
    echo "-- $1: SKIPPED ($2)"
    counts_skip || echo "!! $1: skipped under CI"
}

mkdir -p "$OUT"

# ---- examples/dropin -------------------------------------------------------
step "dropin: cc -I. examples/dropin/main.c" $CC -I. examples/dropin/main.c -o "$OUT/dropin"
step "dropin: -std=c99 $WARN" $CC -std=c99 $WARN -I. examples/dropin/main.c -o "$OUT/dropin-c99"
step "dropin: as C++11" $CXX -x c++ -std=c++11 $WARN -I. examples/dropin/main.c \
    -o "$OUT/dropin-cpp"
dropin_run() {
    "$1" >"$tmp/dropin.out" || { cat "$tmp/dropin.out"; return 1; }
    cat "$tmp/dropin.out"
    grep -q "^  tok_1 name=kiosk" "$tmp/dropin.out" &&
        grep -q "^  tok_2 " "$tmp/dropin.out" &&
        grep -q 'retry in 1000 ms' "$tmp/dropin.out" &&
        grep -q 'page 2 done, next cursor ""' "$tmp/dropin.out"
}
step "dropin: runs offline and prints the tokens" dropin_run "$OUT/dropin"
step "dropin: the C++ build prints the same" sh -c '"$1" | cmp -s - "$2"' sh "$OUT/dropin-cpp" \
    "$tmp/dropin.out"

# ---- docs/porting.md: its generic helpers, extracted and run -----------------
porting_blocks() {
    awk '/<!-- porting-check -->/ { grab = 1; next }
         grab && /^```c$/ { inb = 1; next }
         inb && /^```$/ { inb = 0; grab = 0; n++; next }
         inb { print }
         END { if (n != 2) { print "expected 2 porting-check blocks, found " n > "/dev/stderr"; exit 1 } }' \
        docs/porting.md >"$OUT/porting_blocks.h"
}
step "docs/porting.md: extract the checked blocks" porting_blocks
step "docs/porting.md: the blocks build as C99" $CC -std=c99 $WARN -I. -I"$OUT" \
    tests/porting_check.c -o "$OUT/porting-check"
step "docs/porting.md: the blocks build as C++11" $CXX -x c++ -std=c++11 $WARN -I. -I"$OUT" \
    tests/porting_check.c -o "$OUT/porting-check-cpp"
step "docs/porting.md: the blocks read canned responses right" "$OUT/porting-check"

# ---- README.md: its C blocks, extracted and built ---------------------------
readme_block() { # readme_block NAME: the C block after <!-- readme-check: NAME -->
    awk -v want="$1" '$0 == "<!-- readme-check: " want " -->" { grab = 1; next }
         grab && /^```c$/ { inb = 1; next }
         inb && /^```$/ { exit }
         inb { print }' README.md >"$OUT/readme_$1.h" && [ -s "$OUT/readme_$1.h" ]
}
# has_api FUNCTION FILE: the adapter declares it (else the block waits for it)
has_api() { grep -q "^CBKDEF [a-z].* $1(" "$2"; }
readme_ok=1
rm -f "$OUT/list_tokens" # built below, or left out with its reason
for b in program posix send fetch; do
    step "README.md: extract the '$b' block" readme_block "$b" || readme_ok=0
done
readme_missing=
has_api cbk_curl_cleanup adapters/cbk_token_curl.h || readme_missing=" cbk_curl_cleanup"
has_api cbk_posix_cleanup adapters/cbk_token_posix.h ||
    readme_missing="$readme_missing cbk_posix_cleanup"
if [ "$readme_ok" = 0 ]; then
    bad "README.md: the checked blocks are missing"
elif [ -n "$readme_missing" ]; then
    skip "README.md code" "the adapters here lack$readme_missing, which the README documents"
else
    step "README.md: the fragments build as C99" $CC -std=c99 $WARN -I. -I"$OUT" \
        tests/readme_check.c -o "$OUT/readme-check"
    step "README.md: the fragments build as C++11" $CXX -x c++ -std=c++11 $WARN -I. -I"$OUT" \
        tests/readme_check.c -o "$OUT/readme-check-cpp"
    if [ "${CBK_HAVE_CURL:-1}" != 0 ] && pkg-config --exists libcurl 2>/dev/null; then
        # shellcheck disable=SC2046
        step "README.md: the complete program builds as its text says" $CC -std=c99 $WARN -I. \
            -x c "$OUT/readme_program.h" -o "$OUT/list_tokens" $(pkg-config --cflags --libs libcurl)
    else
        skip "README.md: the complete program (libcurl)" "libcurl development files not found"
    fi
fi
# ---- examples/cbk-token.c against the mock API ------------------------------
cli=$OUT/cbk-token
if pkg-config --exists libcurl 2>/dev/null; then
    # shellcheck disable=SC2046
    step "cbk-token: build (curl + posix)" $CC -std=c99 $WARN -I. $(pkg-config --cflags libcurl) \
        examples/cbk-token.c -o "$cli" $(pkg-config --libs libcurl)
    transports="posix curl"
else
    skip "cbk-token with libcurl" "libcurl development files not found"
    step "cbk-token: build (posix only)" $CC -std=c99 $WARN -I. -DCBK_CLI_NO_CURL \
        examples/cbk-token.c -o "$cli"
    transports="posix"
fi
step "cbk-token --help" sh -c '"$1" --help >/dev/null' sh "$cli"

if ! command -v python3 >/dev/null 2>&1; then
    skip "cbk-token against the mock API" "python3 not found"
elif [ -x "$cli" ]; then
    if ! mock_start "$tmp/mock.log" "$tmp/port" --max-seconds 120 --seed 7 \
        --clock-start 1764460800000; then
        bad "the mock API did not start"
    else
        base=http://127.0.0.1:$(cat "$tmp/port")
        export CBK_SECRET=sk-test-secret
        for t in $transports; do
            run_cli() { "$cli" --base-url "$base" --transport "$t" "$@"; }
            cli_session() {
                run_cli create --name kiosk --description lobby --meta site=north user-42 \
                    >"$tmp/create" || return 1
                cat "$tmp/create"
                id=$(sed -n 's/^id  *//p' "$tmp/create")
                [ -n "$id" ] || return 1
                run_cli list user-42 | grep -q "^$id  *kiosk" || return 1
                run_cli list --stream --json user-42 | grep -q "\"id\":\"$id\"" || return 1
                run_cli update --name desk user-42 "$id" | grep -q "$id" || return 1
                run_cli list --all --json user-42 | grep -q '"name":"desk"' || return 1
                run_cli delete user-42 "$id" | grep -q "$id" || return 1
                ! run_cli list --json user-42 | grep -q "\"id\":\"$id\""
            }
            step "cbk-token --transport $t: create, list, stream, update, delete" cli_session
        done
        bad_secret() {
            CBK_SECRET=wrong "$cli" --base-url "$base" --transport posix list user-42 \
                >/dev/null 2>"$tmp/err"
            rc=$?
            cat "$tmp/err"
            [ "$rc" -eq 5 ] && grep -q "UNAUTHORIZED" "$tmp/err"
        }
        step "cbk-token: a wrong secret exits 5 (CBK_ERR_HTTP) with the API's code" bad_secret
        if [ -x "$OUT/list_tokens" ]; then
            readme_run() {
                "$cli" --base-url "$base" --transport posix -q create --name readme-1 user-7 \
                    >/dev/null || return 1
                CBK_BASE_URL=$base "$OUT/list_tokens" user-7 >"$tmp/readme" || return 1
                cat "$tmp/readme"
                grep -q "  readme-1$" "$tmp/readme" || return 1
                CBK_BASE_URL=http://127.0.0.1:1 "$OUT/list_tokens" user-7 2>"$tmp/readme-err"
                [ $? -eq 1 ] && cat "$tmp/readme-err" && grep -q "^list_tokens: ." "$tmp/readme-err"
            }
            step "README.md: the complete program lists tokens, and says why it cannot" readme_run
        fi
    fi
fi

counts_line "examples: "
[ "$failed" -eq 0 ]
