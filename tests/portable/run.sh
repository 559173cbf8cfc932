#!/bin/sh
# tests/portable/run.sh - cbk_token.h on other compilers, ISAs and byte orders.
#
#   sh tests/portable/run.sh [PART...]      (from anywhere; default: every part)
#
#   matrix    the header as C (gcc, clang; -std=c99/c11/c17) and C++ (g++,
#             clang++; -std=c++11/c++17), default, CBK_TOKEN_STATIC and
#             CBK_TOKEN_NO_LIBC, at -O2 with -Wconversion -Wsign-conversion
#             -Wshadow -Wcast-qual -Werror on top of -Wall -Wextra -Wpedantic
#   nolibc    CBK_TOKEN_NO_LIBC -ffreestanding on every compiler and ISA:
#             the object needs no symbol outside the implementation's
#             reserved names (libgcc helpers such as __aeabi_uldivmod are
#             listed, memcpy/memset/strlen are failures), and it links with
#             -nostdlib (+ -lgcc)
#   cross     the library for Cortex-M0+ and Cortex-M4 (thumb, -Os) and
#             rv32imac/ilp32 with the strict warnings; examples/embedded
#             compiled for Cortex-M4 and linked with -nostdlib
#   m32       the unit tests and the embedded example's test as 32-bit x86
#             (-m32, ASan+UBSan)
#   be        the same tests on big-endian s390x under qemu-user (UBSan)
#   m3        the same tests on an emulated Cortex-M3 (qemu-system-arm,
#             mps2-an385, semihosting through newlib's rdimon); the
#             JSONTestSuite corpus is read from the host through semihosting
#   embedded  tests/test_embedded.c on the host (ASan+UBSan)
#   avr       16-bit int: the library for the atmega2560 with avr-gcc -Os
#             -Wall -Wextra -Wpedantic -Werror (default and CBK_TOKEN_NO_LIBC), and
#             tests/portable/avr_tests.c (the tokenizer, and the client over
#             a scripted transport) run under simavr on an atmega1284p. On
#             AVR every constant is copied to SRAM: the library's texts with
#             the tests' own do not leave room in the atmega2560's 8 KB, so
#             the tests run on the 1284p's 16 KB (same avr-libc, same 16-bit
#             int). AVR_XFAIL names a known defect of the header: while it
#             is set, the build failing with exactly that warning, and the
#             one test it breaks, are expected failures ("XFAIL", counted
#             apart, never a silent pass); if they pass, that is a failure
#             until the mark is removed.
#
# Every part counts its checks; the last line is "portable: N passed, M
# failed" over the parts run. A part whose tools are missing is skipped with
# a note (apt-get line in .ci/run); under CI (CI=true or CBK_REQUIRE_ALL=1) a
# skipped part is a failure. UNIT_SRC (the Makefile passes its own) names
# the unit test sources; BUILD the build directory.
# Flag lists are kept in strings and split on purpose:
# shellcheck disable=SC2086,SC2046
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
OUT=$BUILD/portable
UNIT_SRC=${UNIT_SRC:-tests/test_main.c tests/test_json.c tests/test_client.c}
HOSTCC=${PORTABLE_CC:-cc}
CORPUS=tests/data/JSONTestSuite/test_parsing # from the repository root (vendored)
STRICT="-Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wcast-qual -Werror"
WARN="-Wall -Wextra -Wpedantic -Werror"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
NOLIBC="-DCBK_TOKEN_NO_LIBC -ffreestanding"
ARM=arm-none-eabi
RV=riscv64-unknown-elf
S390=s390x-linux-gnu
QEMU_TIMEOUT=${QEMU_TIMEOUT:-600}
# The known 16-bit defect (issue 12): cbk_client_retry_delay doubles an
# unsigned while it is <= 0x7FFFFFFFu, always true for a 16-bit unsigned, so
# the wait wraps after 8 doublings (and -Wtype-limits fails the build).
# Empty once the header is fixed.
AVR_XFAIL=

. tests/lib.sh
counts_init
xfailed=0
mkdir -p "$OUT" || exit 2
log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM

pass() {
    passed=$((passed + 1))
    echo "ok   $1"
}

fail() {
    failed=$((failed + 1))
    echo "FAIL $1"
}

# check NAME CMD...: one check, passed when CMD exits 0 (its output shown
# when it does not).
check() {
    name=$1
    shift
    if "$@" >"$log" 2>&1; then
        pass "$name"
    else
        fail "$name"
        sed 's/^/     /' "$log" | head -n 60
        return 1
    fi
}

# run_in NAME DIR CMD...: runs a test program in DIR and adds up the last
# "N passed, M failed" line it printed (one failure if it printed none, or
# exited nonzero with none failed).
run_in() {
    name=$1
    dir=$2
    shift 2
    (cd "$dir" && "$@") >"$log" 2>&1
    rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
        [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
    else
        p=0
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -ne 0 ]; then
        echo "FAIL $name: $p passed, $f failed (exit $rc)"
        sed 's/^/     /' "$log" | tail -n 60
    else
        echo "ok   $name: $p passed"
        grep -E '^(JSONTestSuite|measured)' "$log" | sed 's/^/     /'
    fi
}

# xfail NAME REASON: an expected failure, counted apart.
xfail() {
    xfailed=$((xfailed + 1))
    echo "XFAIL $1: $2"
}

skip() {
    echo "SKIP $1: $2"
    counts_skip || echo "FAIL $1: skipped under CI"
}

# have PART TOOL...: 0 when every tool is on PATH, else skips PART.
have() {
    what=$1
    shift
    for t in "$@"; do
        if ! command -v "$t" >/dev/null 2>&1; then
            skip "$what" "$t not found (see the apt-get line in .ci/run)"
            return 1
        fi
    done
    return 0
}

cfg_flags() {
    case $1 in
    default) echo "" ;;
    static) echo "-DCBK_TOKEN_STATIC" ;;
    nolibc) echo "$NOLIBC" ;;
    esac
}

# ---------------------------------------------------------------------------

part_matrix() {
    have matrix gcc clang g++ clang++ || return
    mkdir -p "$OUT/matrix"
    for cc in gcc clang; do
        for std in c99 c11 c17; do
            for cfg in default static nolibc; do
                check "matrix: $cc -std=$std $cfg" $cc -std=$std -O2 $STRICT $(cfg_flags $cfg) \
                    -I. -c tests/check_compile.c -o "$OUT/matrix/$cc-$std-$cfg.o"
            done
        done
    done
    for cxx in g++ clang++; do
        for std in c++11 c++17; do
            for cfg in default static nolibc; do
                check "matrix: $cxx -std=$std $cfg" $cxx -x c++ -std=$std -O2 $STRICT \
                    $(cfg_flags $cfg) -I. -c tests/check_compile.c -o "$OUT/matrix/$cxx-$std-$cfg.o"
            done
        done
    done
    check "matrix: examples/embedded as C++ (g++ -std=c++11)" g++ -x c++ -std=c++11 -O2 $STRICT \
        -I. -c examples/embedded/cbk_embedded.c -o "$OUT/matrix/embedded-cxx.o"
}

# nolibc_one NAME CC CFLAGS LDFLAGS NM: compile, list undefined symbols, link.
nolibc_one() {
    name=$1 cc=$2 cflags=$3 ldflags=$4 nm=$5
    obj="$OUT/nolibc/$(echo "$name" | tr -c 'A-Za-z0-9\n' '_').o"
    if ! $cc $cflags $NOLIBC -I. -c "$OUT/nolibc/lib.c" -o "$obj" >"$log" 2>&1; then
        fail "nolibc: $name: does not compile"
        sed 's/^/     /' "$log" | head -n 30
        return
    fi
    undef=$($nm -u "$obj" | awk '{print $NF}' | sort -u)
    libc=$(echo "$undef" | grep -v '^_' | grep -v '^$' | tr '\n' ' ')
    rt=$(echo "$undef" | grep '^_' | tr '\n' ' ')
    if [ -n "$libc" ]; then
        fail "nolibc: $name: needs $libc(runtime: ${rt:-none})"
        return
    fi
    if ! $cc $cflags -nostdlib -nostartfiles $ldflags -Wl,-e,cbk_client_init "$obj" -lgcc \
        -o "${obj%.o}.elf" >"$log" 2>&1; then
        fail "nolibc: $name: does not link with -nostdlib -lgcc"
        sed 's/^/     /' "$log" | head -n 30
        return
    fi
    pass "nolibc: $name (runtime helpers: ${rt:-none})"
}

part_nolibc() {
    mkdir -p "$OUT/nolibc"
    printf '#define CBK_TOKEN_IMPLEMENTATION\n#include "cbk_token.h"\n' >"$OUT/nolibc/lib.c"
    if have "nolibc (host)" gcc clang; then
        for o in -O0 -O1 -O2 -Os -O3; do
            nolibc_one "gcc x86-64 $o" gcc "-std=c99 $o" "-static" nm
            nolibc_one "clang x86-64 $o" clang "-std=c99 $o" "-static" nm
        done
        if echo 'int main(void){return 0;}' | gcc -m32 -x c - -o "$OUT/nolibc/m32probe" \
            >/dev/null 2>&1; then
            nolibc_one "gcc i386 -Os" gcc "-std=c99 -m32 -Os" "-static" nm
        else
            skip "nolibc: gcc i386" "gcc -m32 cannot link (lib32gcc-12-dev libc6-dev-i386)"
        fi
    fi
    if have "nolibc (arm)" $ARM-gcc; then
        for o in -O0 -Os -O2; do
            nolibc_one "cortex-m0plus $o" $ARM-gcc "-std=c99 -mcpu=cortex-m0plus -mthumb $o" "" \
                $ARM-nm
            nolibc_one "cortex-m4 $o" $ARM-gcc "-std=c99 -mcpu=cortex-m4 -mthumb $o" "" $ARM-nm
        done
    fi
    if have "nolibc (riscv)" $RV-gcc; then
        for o in -Os -O2; do
            nolibc_one "rv32imac $o" $RV-gcc "-std=c99 -march=rv32imac -mabi=ilp32 $o" "" $RV-nm
        done
    fi
}

part_cross() {
    mkdir -p "$OUT/cross"
    printf '#define CBK_TOKEN_IMPLEMENTATION\n#include "cbk_token.h"\n' >"$OUT/cross/lib.c"
    if have "cross (arm)" $ARM-gcc; then
        for cpu in cortex-m0plus cortex-m4; do
            for cfg in default nolibc; do
                check "cross: $cpu -Os $cfg" $ARM-gcc -mcpu=$cpu -mthumb -Os -std=c99 $STRICT \
                    $(cfg_flags $cfg) -I. -c "$OUT/cross/lib.c" -o "$OUT/cross/$cpu-$cfg.o"
            done
        done
        m4="$ARM-gcc -mcpu=cortex-m4 -mthumb -Os -std=c99 -ffunction-sections -fdata-sections"
        if check "cross: examples/embedded for cortex-m4, linked with -nostdlib" sh -c "
            $m4 $STRICT $NOLIBC -I. -c examples/embedded/main.c -o $OUT/cross/emb_main.o &&
            $m4 $STRICT $NOLIBC -I. -c examples/embedded/cbk_embedded.c -o $OUT/cross/emb.o &&
            $m4 $NOLIBC -c tests/portable/platform_stub.c -o $OUT/cross/emb_stub.o &&
            $m4 -nostdlib -nostartfiles -Wl,--gc-sections -Wl,-e,cbk_embedded_task \
                $OUT/cross/emb_main.o $OUT/cross/emb.o $OUT/cross/emb_stub.o -lgcc \
                -o $OUT/cross/embedded-cortex-m4.elf &&
            $ARM-size $OUT/cross/embedded-cortex-m4.elf"; then
            sed -n '2p' "$log" | awk '{print "     examples/embedded image, cortex-m4 -Os: " \
                "text+rodata " $1 ", data " $2 ", bss " $3 " bytes"}'
        fi
    fi
    if have "cross (riscv)" $RV-gcc; then
        check "cross: rv32imac -Os nolibc" $RV-gcc -march=rv32imac -mabi=ilp32 -Os -std=c99 \
            $STRICT $NOLIBC -I. -c "$OUT/cross/lib.c" -o "$OUT/cross/rv32-nolibc.o"
        check "cross: rv32imac -Os picolibc" $RV-gcc -march=rv32imac -mabi=ilp32 -Os -std=c99 \
            --specs=picolibc.specs $STRICT -I. -c "$OUT/cross/lib.c" -o "$OUT/cross/rv32-libc.o"
    fi
}

part_m32() {
    have m32 "$HOSTCC" || return
    mkdir -p "$OUT/m32"
    if ! echo 'int main(void){return 0;}' | $HOSTCC -m32 $SAN -x c - -o "$OUT/m32/probe" \
        >"$log" 2>&1; then
        skip m32 "$HOSTCC -m32 cannot link with the sanitizers (lib32gcc-12-dev libc6-dev-i386 \
lib32asan8 lib32ubsan1)"
        return
    fi
    check "m32: build the unit tests" $HOSTCC -m32 -std=c99 $WARN -O1 -g $SAN -I. $UNIT_SRC \
        -o "$OUT/m32/test_unit" && run_in "m32: unit tests" tests "../$OUT/m32/test_unit"
    check "m32: build test_embedded" $HOSTCC -m32 -std=c99 $WARN -O1 -g $SAN -I. \
        tests/test_embedded.c -o "$OUT/m32/test_embedded" &&
        run_in "m32: test_embedded" tests "../$OUT/m32/test_embedded"
}

part_be() {
    have "be (s390x)" $S390-gcc qemu-s390x || return
    mkdir -p "$OUT/be"
    qemu="qemu-s390x -L /usr/$S390"
    ubsan="-fsanitize=undefined -fno-sanitize-recover=all"
    check "be: build the unit tests for s390x" $S390-gcc -std=c99 $WARN -O1 -g $ubsan -I. \
        $UNIT_SRC -o "$OUT/be/test_unit" &&
        check "be: the s390x build is big-endian" sh -c \
            "readelf -h $OUT/be/test_unit | grep -q 'big endian'" &&
        run_in "be: unit tests on s390x (qemu-user)" tests $qemu "../$OUT/be/test_unit"
    check "be: build test_embedded for s390x" $S390-gcc -std=c99 $WARN -O1 -g $ubsan -I. \
        tests/test_embedded.c -o "$OUT/be/test_embedded" &&
        run_in "be: test_embedded on s390x (qemu-user)" tests $qemu "../$OUT/be/test_embedded"
}

part_m3() {
    have "m3 (cortex-m3)" $ARM-gcc qemu-system-arm timeout || return
    mkdir -p "$OUT/m3"
    if [ ! -d "$CORPUS" ]; then
        fail "m3: JSONTestSuite not found at $CORPUS"
        return
    fi
    # test_json.c lists the corpus with opendir; semihosting has files but no
    # directories, so tests/portable/include/dirent.h reads this list instead
    ls "$CORPUS" >"$OUT/m3/jsontestsuite.idx"
    m3="$ARM-gcc -mcpu=cortex-m3 -mthumb -Os -g -std=c99 $WARN -ffunction-sections -fdata-sections \
        --specs=rdimon.specs -T tests/portable/mps2_an385.ld -Wl,--gc-sections -I. \
        -Itests/portable/include"
    qemu="timeout $QEMU_TIMEOUT qemu-system-arm -M mps2-an385 -cpu cortex-m3 -nographic \
        -monitor none -serial none -semihosting-config enable=on,target=native -kernel"
    check "m3: build the unit tests for cortex-m3" $m3 \
        "-DCBK_DIRENT_INDEX=\"../$OUT/m3/jsontestsuite.idx\"" $UNIT_SRC \
        tests/portable/m3_vectors.c -o "$OUT/m3/test_unit.elf" &&
        run_in "m3: unit tests on cortex-m3 (qemu-system-arm mps2-an385)" tests \
            $qemu "../$OUT/m3/test_unit.elf"
    check "m3: build test_embedded for cortex-m3" $m3 -DCBK_EMB_MEASURE_STACK \
        tests/test_embedded.c tests/portable/m3_vectors.c -o "$OUT/m3/test_embedded.elf" &&
        run_in "m3: test_embedded on cortex-m3" tests $qemu "../$OUT/m3/test_embedded.elf"
}

part_embedded() {
    have embedded "$HOSTCC" || return
    mkdir -p "$OUT/host"
    check "embedded: build test_embedded (host)" $HOSTCC -std=c99 $STRICT -O1 -g $SAN -I. tests/test_embedded.c -o "$OUT/host/test_embedded" &&
        run_in "embedded: test_embedded (host, ASan+UBSan)" tests "../$OUT/host/test_embedded"
}

# avr_build NAME CFLAGS: the library for the atmega2560 with -Werror; an
# expected failure while AVR_XFAIL names the one warning it fails with.
avr_build() {
    name=$1
    if avr-gcc -mmcu=atmega2560 -Os -std=c99 -Wall -Wextra -Wpedantic -Werror $2 -I. -c "$OUT/avr/lib.c" \
        -o "$OUT/avr/lib.o" >"$log" 2>&1; then
        if [ -n "$AVR_XFAIL" ]; then
            fail "$name: builds clean now: empty AVR_XFAIL in tests/portable/run.sh"
        else
            pass "$name"
        fi
    elif [ -n "$AVR_XFAIL" ] && [ "$(grep -c 'error:' "$log")" = 1 ] &&
        grep -q "error: $AVR_XFAIL" "$log"; then
        xfail "$name" "$(grep 'error:' "$log" | sed 's/^[^ ]* //')"
    else
        fail "$name"
        sed 's/^/     /' "$log" | head -n 30
    fi
}

part_avr() {
    have avr avr-gcc avr-size simavr timeout || return
    mkdir -p "$OUT/avr"
    printf '#define CBK_TOKEN_IMPLEMENTATION\n#include "cbk_token.h"\n' >"$OUT/avr/lib.c"
    avr_build "avr: atmega2560 -Os -Wall -Wextra -Werror" ""
    avr_build "avr: atmega2560 -Os -Wall -Wextra -Werror, CBK_TOKEN_NO_LIBC" "$NOLIBC"
    fw="$OUT/avr/avr_tests.elf"
    xf=0
    [ -n "$AVR_XFAIL" ] && xf=1
    # without -Werror while the defect is known: the tests say what it breaks
    werror=-Werror
    [ "$xf" = 1 ] && werror=
    if check "avr: build tests/portable/avr_tests.c for the atmega1284p" avr-gcc -mmcu=atmega1284p \
        -Os -std=c99 -Wall -Wextra $werror -ffunction-sections -fdata-sections -Wl,--gc-sections \
        -DAVR_XFAIL_RETRY_WRAP=$xf tests/portable/avr_tests.c -o "$fw"; then
        avr-size "$fw" | awk 'NR == 2 {print "     firmware: text " $1 ", data " $2 \
            ", bss " $3 " bytes (data + bss in SRAM)"}'
        # simavr prints USART0's lines (in colour, a '.' for each newline)
        # and stops when the firmware sleeps with interrupts off
        run_in "avr: the subset on an atmega1284p (simavr)" . sh -c "timeout 120 simavr -m \
            atmega1284p -f 16000000 $fw 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e 's/\.\$//'"
        grep -E '^(avr:|XFAIL|XPASS)' "$log" | sed 's/^/     /'
        xfailed=$((xfailed + $(grep -c '^XFAIL' "$log")))
    fi
}

# ---------------------------------------------------------------------------

parts=${*:-matrix nolibc cross m32 be m3 embedded avr}
for part in $parts; do
    case $part in
    matrix | nolibc | cross | m32 | be | m3 | embedded | avr)
        echo "== portable: $part"
        "part_$part"
        ;;
    *)
        echo "usage: sh tests/portable/run.sh [matrix|nolibc|cross|m32|be|m3|embedded|avr]..." >&2
        exit 2
        ;;
    esac
done
echo
[ "$xfailed" -gt 0 ] && echo "portable: $xfailed expected failures (XFAIL above), not counted"
counts_line "portable: "
[ "$failed" -eq 0 ]
