#!/bin/sh
# Runs every part of the test suite and closes with one line
# "N passed, M failed" over all of them, or "N passed, M failed, K skipped".
#
#   sh tests/run_tests.sh            every part (make test)
#   sh tests/run_tests.sh --quick    the edit loop's subset (make check): unit
#                                    tests, header builds, the mock, loopback,
#                                    the CLI, conformance when node is there
#
# A part whose tools are missing here (libcurl, node, cross compilers, ...)
# is skipped with its reason, and skips inside a part (its closing line's
# ", K skipped") are added up too; under CI (CI=true, or CBK_REQUIRE_ALL=1)
# every skip is a failure. CBK_HAVE_CURL=1/0 (the Makefile sets it) says
# whether libcurl's development files are there; unset, pkg-config decides.
# `make test WITHOUT="curl node ..."` hides tools to show what a fresh
# machine runs (tools/without.sh).
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
quick=0
[ "${1:-}" = "--quick" ] && quick=1
if [ -z "${CBK_HAVE_CURL:-}" ]; then
    CBK_HAVE_CURL=0
    pkg-config --exists libcurl 2>/dev/null && CBK_HAVE_CURL=1
fi
export CBK_HAVE_CURL
NO_CURL="libcurl development files not found (apt-get install libcurl4-openssl-dev)"
. tests/lib.sh
counts_init
log=$(mktemp)
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT TERM # stop here (the EXIT trap cleans up), do not run on

# run NAME CMD...: runs a part, adds up the last "N passed, M failed[, K
# skipped]" line it printed; a part that prints none counts as one test, by
# its exit status.
run() {
    name=$1
    shift
    echo "== $name"
    t0=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    echo "-- $name: $(($(date +%s) - t0)) s"
    line=$(grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    k=0
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([A-Za-z0-9_-]+: )?([0-9]+) passed.*/\2/')
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
        case $line in *" skipped"*) k=$(echo "$line" | sed -E 's/.* ([0-9]+) skipped.*/\1/') ;; esac
        [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    elif [ "$rc" -eq 0 ]; then
        p=1 f=0
    else
        p=0 f=1
    fi
    if [ "$k" -ne 0 ] && [ "$require_all" = 1 ]; then
        echo "!! $name: $k skipped inside, counted as failures under CI"
        f=$((f + k)) k=0
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + k))
    [ "$f" -ne 0 ] && echo "!! $name: $f failed"
    [ "$k" -ne 0 ] && echo "-- $name: $k skipped inside (see its SKIP lines)"
}

skip() {
    echo "== $1: SKIPPED ($2)"
    counts_skip || echo "!! $1: skipped under CI, counted as a failure"
}

# the closing line; the exit status says whether anything failed
finish() {
    echo
    counts_line ""
    [ "$failed" -eq 0 ]
    exit
}

run "unit tests (ASan+UBSan)" sh -c "cd tests && ../$BUILD/test_unit"
run "unit tests, strings scanned a byte at a time as on Cortex-M0+ (CBK_TOKEN_BYTE_SCAN)" \
    sh -c "cd tests && ../$BUILD/test_unit_bytes"
run "header builds as C++11, CBK_TOKEN_STATIC, CBK_TOKEN_NO_LIBC" \
    test -f "$BUILD/check_cpp.o" -a -f "$BUILD/check_static.o" -a -f "$BUILD/check_nolibc.o"

if command -v python3 >/dev/null 2>&1; then
    run "mock API self-test" python3 tests/mock_api_selftest.py
else
    skip "mock API self-test" "python3 not found"
fi

# the HTTP/1.1 engine over a scripted io, then the POSIX adapter on loopback
if [ -x "$BUILD/test_http1" ] && command -v python3 >/dev/null 2>&1; then
    run "http1 engine and the POSIX adapter on it" "$BUILD/test_http1"
else
    skip "http1 engine" "build/test_http1 or python3 missing (make build/test_http1)"
fi

# without libcurl the test is built without its curl half, which it counts
# as one skip (its SKIP line says why)
if [ "$CBK_HAVE_CURL" = 1 ]; then
    run "loopback: both adapters against the mock API" "$BUILD/test_adapters"
else
    run "loopback: the POSIX adapter against the mock API (no curl half)" "$BUILD/test_adapters"
fi

if [ "$quick" = 1 ]; then
    : # the faults take minutes (real retries, timeouts)
elif [ "$CBK_HAVE_CURL" = 1 ]; then
    run "faults, retries and security (both adapters, TLS, CLI)" "$BUILD/test_faults"
else
    skip "faults" "$NO_CURL"
fi

if [ "$CBK_HAVE_CURL" = 1 ]; then
    run "make demo's session, curl transport" env TRANSPORT=curl sh tools/demo.sh
else
    skip "make demo's session, curl transport" "$NO_CURL"
fi
run "make demo's session, posix transport" env TRANSPORT=posix sh tools/demo.sh
run "the cbk-token CLI as a tool (tests/cli.sh)" sh tests/cli.sh $([ "$quick" = 1 ] && echo --quick)

if [ -f tests/conformance/run.sh ]; then
    if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
        run "conformance with @chatbotkit/sdk" sh tests/conformance/run.sh
    else
        skip "conformance" "node and npm not found"
    fi
fi

# size options (mk/size.mk): the library without its texts
run "CBK_TOKEN_NO_MESSAGES: same results and codes, no texts" make --no-print-directory test-nomsg
run "examples: dropin, docs/porting.md helpers, README.md code, the CLI on the mock API" \
    make --no-print-directory examples

[ "$quick" = 1 ] && finish # make check ends here

# embedded: lwIP + mbedTLS for real on a TAP device in a network namespace (mk/embedded.mk)
emb_why=$(make -s --no-print-directory embedded-why 2>&1)
if [ -z "$emb_why" ]; then
    run "embedded: lwIP and lwIP+mbedTLS through a TAP device, every operation and the faults" \
        make -s --no-print-directory embedded-test
    run "embedded: examples/embedded over lwIP + mbedTLS" make -s --no-print-directory embedded-example
    run "embedded: library, engine and adapters for Cortex-M4 (lwIP, mbedTLS headers)" \
        make -s --no-print-directory embedded-cross
else
    skip "embedded (lwIP, mbedTLS, Cortex-M4)" "$emb_why"
fi

run "portable: matrix, nolibc, cross, -m32, s390x, Cortex-M3, examples/embedded" \
    make -s --no-print-directory portable

if command -v cmake >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1; then
    run "packaging: consumers via add_subdirectory, find_package, pkg-config" \
        make --no-print-directory consumer-test
else
    skip "packaging" "cmake or pkg-config not found (apt-get install cmake pkg-config)"
fi
if command -v clang-tidy >/dev/null 2>&1 && command -v cppcheck >/dev/null 2>&1 &&
    command -v clang-format >/dev/null 2>&1; then
    run "static analysis: clang-tidy, cppcheck, clang-format" make --no-print-directory lint
else
    skip "static analysis" "apt-get install clang-tidy cppcheck clang-format"
fi

if command -v valgrind >/dev/null 2>&1; then
    run "valgrind memcheck over the unit tests" make --no-print-directory valgrind
else
    skip "valgrind" "valgrind not found (apt-get install valgrind)"
fi
# FUZZ_SECONDS=0 (a developer's default) replays the seeds and the corpus;
# CI fuzzes each harness for a minute
if echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' |
    ${FUZZ_CC:-clang} -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then
    run "fuzzing: 9 libFuzzer harnesses, ${FUZZ_SECONDS:-0} s each" \
        make --no-print-directory fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-0}"
else
    skip "fuzzing" "clang with libFuzzer not found (apt-get install clang libclang-rt-14-dev)"
fi

finish
