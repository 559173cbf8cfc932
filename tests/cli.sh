#!/bin/sh
# tests/cli.sh - the cbk-token CLI as a tool, against tests/mock_api.py on
# loopback (started here and stopped by its PID), and its installation.
# Closes with "cli: N passed, M failed[, K skipped]".
#
#   sh tests/cli.sh [--quick]   (from anywhere; make test runs it, make check
#                               with --quick: without the install checks)
#
# CLI=path picks the binary (default examples/cbk-token, built by make).
# Each check is one behaviour cbk-token(1) documents: --version, help per
# command, one error line in words (a refused connection, an HTTP error, a
# bad command line), the exit statuses, quiet on a closed pipe, --json lines
# of one shape (the next cursor on stderr), no "next cursor" on the last
# page, -v (method, URL, status, time, retries with their waits; never the
# secret), -q, empty environment variables as unset, columns by display
# width, the secret masked in tokens a server sends back (also cut in two at
# a field boundary, and in meta whatever escapes the server used), C1
# controls escaped in --json, make install and
# cmake --install. Needs python3; the curl checks need a CLI built with
# libcurl, cmake --install needs cmake (else skipped; a failure under CI).
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BUILD=${BUILD:-build}
CLI=${CLI:-examples/cbk-token}
OUT=$BUILD/cli-test
SECRET=sk-cli-test-0123456789abcdef
quick=0
[ "${1:-}" = "--quick" ] && quick=1
. tests/lib.sh
counts_init
rm -rf "$OUT"
mkdir -p "$OUT" || exit 2
tmp=$(cd "$OUT" && pwd)
trap mock_stop EXIT
trap 'exit 1' INT TERM

ok() {
    passed=$((passed + 1))
    echo "ok   $1"
}
bad() {
    failed=$((failed + 1))
    echo "FAIL $1"
    [ -s "$tmp/err" ] && sed 's/^/     stderr: /' "$tmp/err" | head -n 8
    [ -s "$tmp/out" ] && sed 's/^/     stdout: /' "$tmp/out" | head -n 8
    return 0
}
skip() {
    if [ "$require_all" = 1 ]; then
        bad "$1: skipped under CI ($2)"
    else
        skipped=$((skipped + 1))
        echo "SKIP $1: $2"
    fi
}
check() { # check NAME CMD...: passes when CMD exits 0
    name=$1
    shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}

if ! command -v python3 >/dev/null 2>&1; then
    skip "cbk-token" "python3 not found (the mock API needs it)"
    echo "cli: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
    exit
fi
if [ ! -x "$CLI" ]; then
    echo "cli: $CLI is missing (make examples/cbk-token)"
    echo "cli: 0 passed, 1 failed"
    exit 1
fi
transports=posix
"$CLI" --version | grep -q '^transports:.* curl' && transports="posix curl"

# ---- the mock ------------------------------------------------------------------
if ! mock_start "$tmp/mock.log" "$tmp/port" --secret "$SECRET" --seed 3 \
    --clock-start 1764460800000 --max-seconds 1800; then # a last resort: stopped by PID
    echo "cli: the mock API did not start"
    echo "cli: 0 passed, 1 failed"
    exit 1
fi
BASE=http://127.0.0.1:$(cat "$tmp/port")
export CBK_SECRET="$SECRET" CBK_BASE_URL="$BASE"
unset CBK_RUN_AS_USER_ID CBK_RUN_AS_CHILD_EMAIL

# mock METHOD PATH [JSON]: the mock's control API (python3: no curl binary needed)
mock() {
    python3 - "$BASE" "$@" <<'EOF'
import sys, urllib.request
base, method, path = sys.argv[1:4]
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(base + path, data=data, method=method)
sys.stdout.write(urllib.request.urlopen(req).read().decode())
EOF
}
fault() { mock POST /__mock/faults "$1" >/dev/null; }

# cli ARGS...: runs the CLI, stdout to $tmp/out, stderr to $tmp/err; $rc
cli() {
    "$CLI" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}
# no_secret [SECRET]: no 8-byte piece of the secret (default $SECRET) in stdout
# or stderr, neither as it is nor JSON-escaped (\", \\, \u20ac; all as \uXXXX)
# nor percent-encoded
no_secret() {
    python3 - "${1:-$SECRET}" "$tmp/out" "$tmp/err" <<'EOF'
import json, sys, urllib.parse
data = b"".join(open(p, "rb").read() for p in sys.argv[2:])
forms = [sys.argv[1].encode(), json.dumps(sys.argv[1])[1:-1].encode(),
         json.dumps(sys.argv[1], ensure_ascii=False)[1:-1].encode(),
         "".join("\\u%04x" % ord(c) for c in sys.argv[1]).encode(),
         urllib.parse.quote(sys.argv[1], safe="").encode()]
bad = [s[i:i + 8] for s in forms for i in range(len(s) - 7) if s[i:i + 8] in data]
sys.exit(1 if bad else 0)
EOF
}
err_is() { [ "$(cat "$tmp/err")" = "$1" ]; }

# ---- --version, help -----------------------------------------------------------
cli --version
check "--version: name, version, transports; exit 0" sh -c \
    '[ '"$rc"' = 0 ] && grep -q "^cbk-token [0-9][0-9.]* " "$1" && grep -q "^transports:.*posix" "$1"' \
    sh "$tmp/out"
cli --help
check "--help: usage, commands, exit statuses; exit 0" sh -c \
    '[ '"$rc"' = 0 ] && grep -q "^usage: cbk-token" "$1" && grep -q "^exit status:" "$1"' sh "$tmp/out"
for c in list create update delete; do
    cli help "$c"
    cp "$tmp/out" "$tmp/help1"
    cli "$c" --help
    check "help $c = $c --help: the command's own usage" sh -c \
        '[ '"$rc"' = 0 ] && grep -q "^usage: cbk-token '"$c"'" "$1" && cmp -s "$1" "$2"' \
        sh "$tmp/out" "$tmp/help1"
done

# ---- errors: one line, in words ------------------------------------------------
cli --bogus list u1
check "unknown option: one line and a hint, exit 2" sh -c '[ '"$rc"' = 2 ] &&
    [ "$(sed -n 1p "$1")" = "cbk-token: unknown option: --bogus" ] && [ "$(wc -l <"$1")" -eq 2 ]' \
    sh "$tmp/err"
for a in 99999999999999999999 1x x 0 -5 1000001 " 5"; do # every numeric option: --take
    cli list --take "$a" u1
    check "--take '$a': the error echoes the whole argument, exit 2" sh -c '[ '"$rc"' = 2 ] &&
        [ "$(sed -n 1p "$1")" = "cbk-token: --take needs a whole number from 1 to 1000000: $2" ]' \
        sh "$tmp/err" "$a"
done
for t in $transports; do
    cli -q --transport "$t" --base-url http://127.0.0.1:1 list u1
    check "$t: refused connection: 'cbk-token: cannot connect to 127.0.0.1:1: connection refused', exit 4" \
        sh -c '[ '"$rc"' = 4 ] && [ "$(cat "$1")" = "cbk-token: cannot connect to 127.0.0.1:1: connection refused" ]' \
        sh "$tmp/err"
    cli --transport "$t" delete u1 cm-nope
    check "$t: HTTP error: 'cbk-token: HTTP 404 NOT_FOUND: <the API's message>', exit 5" \
        sh -c '[ '"$rc"' = 5 ] && grep -Eq "^cbk-token: HTTP 404 NOT_FOUND: .+" "$1" && [ "$(wc -l <"$1")" -eq 1 ]' \
        sh "$tmp/err"
done
CBK_SECRET=sk-wrong-secret-for-the-cli cli list u1
check "wrong secret: 'cbk-token: HTTP 401 UNAUTHORIZED: ...', exit 5, not echoed" sh -c \
    '[ '"$rc"' = 5 ] && grep -q "^cbk-token: HTTP 401 UNAUTHORIZED: " "$1" && ! grep -q sk-wrong "$1"' \
    sh "$tmp/err"
cli list "$(printf '\377\376')"
check "invalid argument: 'cbk-token: invalid argument: ...', exit 2" sh -c \
    '[ '"$rc"' = 2 ] && grep -q "^cbk-token: invalid argument: " "$1"' sh "$tmp/err"
CBK_SECRET= cli list u1
check "CBK_SECRET= (empty) is no secret: exit 2" sh -c \
    '[ '"$rc"' = 2 ] && grep -q "^cbk-token: no secret" "$1"' sh "$tmp/err"

# ---- empty environment variables mean unset --------------------------------------
CBK_BASE_URL= cli --transport posix list u1
check "CBK_BASE_URL= means the default (https://api.chatbotkit.com), not a bad URL" sh -c \
    '[ '"$rc"' = 4 ] && grep -q "https:// with --transport posix" "$1"' sh "$tmp/err"
mock POST /__mock/clear-requests >/dev/null
CBK_RUN_AS_USER_ID= cli list u1
mock GET /__mock/requests >"$tmp/reqs"
check "CBK_RUN_AS_USER_ID= sends no X-RunAs-User-Id header" sh -c \
    '[ '"$rc"' = 0 ] && grep -q "token/list" "$1" && ! grep -qi "x-runas-user-id" "$1"' sh "$tmp/reqs"
mock POST /__mock/clear-requests >/dev/null
CBK_RUN_AS_USER_ID=boss cli list u1
mock GET /__mock/requests >"$tmp/reqs"
check "CBK_RUN_AS_USER_ID=boss sends X-RunAs-User-Id: boss" grep -qi '"x-runas-user-id", *"boss"' \
    "$tmp/reqs"

mock POST /__mock/clear-requests >/dev/null
cli --run-as-child-email kid@example.com list u1
CBK_RUN_AS_CHILD_EMAIL=env-kid@example.com "$CLI" list u1 >/dev/null 2>&1
CBK_RUN_AS_CHILD_EMAIL= "$CLI" list u1 >/dev/null 2>&1
mock GET /__mock/requests >"$tmp/reqs"
check "--run-as-child-email and CBK_RUN_AS_CHILD_EMAIL send X-RunAs-Child-User-Email (empty: none)" \
    python3 -c '
import json, sys
reqs = [r for r in json.load(open(sys.argv[1])) if "token/list" in r["path"]]
got = [[v for k, v in r["headers"] if k.lower() == "x-runas-child-user-email"] for r in reqs]
sys.exit(0 if got == [["kid@example.com"], ["env-kid@example.com"], []] else 1)' "$tmp/reqs"

# ---- list output -----------------------------------------------------------------
mock POST /__mock/seed '{"user":"pages","count":5,"name_prefix":"p"}' >/dev/null
cli --json list --take 3 pages
cp "$tmp/err" "$tmp/err1"
json_shape() { # every line of $1 one token object, the same keys in the same order
    python3 - "$1" <<'EOF'
import json, sys
keys = ["id", "name", "description", "meta", "createdAt", "updatedAt"]
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
sys.exit(0 if lines and all(list(json.loads(l).keys()) == keys for l in lines) else 1)
EOF
}
check "--json list: every stdout line one token object of the same shape" json_shape "$tmp/out"
check "--json list, a full page: the next cursor on stderr" grep -q '^cbk-token: next cursor: .' \
    "$tmp/err1"
cli --json list --take 3 --cursor "$(sed -n '3s/^{"id":"\([^"]*\)".*/\1/p' "$tmp/out")" pages
check "--json list, the last page: 2 tokens, no next cursor" sh -c \
    '[ '"$rc"' = 0 ] && [ "$(wc -l <"$1")" -eq 2 ] && [ ! -s "$2" ]' sh "$tmp/out" "$tmp/err"
cli list --take 10 pages
check "table, the last page (short): no 'next cursor:' line" sh -c \
    '[ '"$rc"' = 0 ] && [ "$(wc -l <"$1")" -eq 6 ] && ! grep -q "next cursor" "$1"' sh "$tmp/out"
cli list --take 2 pages
check "table, a full page: ends with 'next cursor: C'" sh -c \
    '[ '"$rc"' = 0 ] && tail -n 1 "$1" | grep -q "^next cursor: ."' sh "$tmp/out"
cli -q list --take 2 pages
check "-q: no header, no next cursor: the rows only" sh -c \
    '[ '"$rc"' = 0 ] && [ "$(wc -l <"$1")" -eq 2 ] && ! grep -q "^ID " "$1"' sh "$tmp/out"
cli --json list --all --take 2 pages
check "--json list --all: 5 tokens over 3 pages, one shape, nothing on stderr" sh -c \
    '[ '"$rc"' = 0 ] && [ "$(wc -l <"$1")" -eq 5 ] && [ ! -s "$2" ]' sh "$tmp/out" "$tmp/err"
for t in $transports; do
    mock POST /__mock/clear-requests >/dev/null
    cli --transport "$t" -q list --all --take 2 pages
    mock GET /__mock/stats >"$tmp/stats"
    if [ "$t" = posix ] && ! grep -q 'cbk_posix_cleanup' adapters/cbk_token_posix.h; then
        skip "$t: one connection for the whole run" "this POSIX adapter closes after each request"
        continue
    fi
    check "$t: list --all, page after page on one connection (one client, one transport)" \
        python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
sys.exit(0 if st["requests"].get("list", 0) >= 3 and st["api_connections"] == 1 else 1)' "$tmp/stats"
done

# display width: CJK wide characters take two columns, combining marks none
"$CLI" -q create --name "漢字の名前" --description "テスト" wide >/dev/null
"$CLI" -q create --name "plain name" --description "e\314\201t\303\251" wide >/dev/null
"$CLI" -q create --name "日本語の名前がとても長い名前です" --description x wide >/dev/null
cli list wide
columns() { # DESCRIPTION starts at the same display column on every line
    python3 - "$1" <<'EOF'
import sys, unicodedata
def width(s):
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in s)
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
starts = set()
for l in lines:
    # the DESCRIPTION column starts 25 + 2 + 20 + 2 columns in
    cols, at = 0, 0
    while cols < 49 and at < len(l):
        cols += width(l[at]); at += 1
    starts.add((cols, l[at - 2:at] == "  "))
sys.exit(0 if starts == {(49, True)} and len(lines) == 4 else 1)
EOF
}
check "table: columns by display width (CJK 2 columns, combining marks 0, cut ones end in ~)" \
    columns "$tmp/out"
check "table: a long wide name is cut to the column and ends in '~'" grep -q '~' "$tmp/out"

# ---- the secret and terminal safety on success paths --------------------------------
half=${SECRET%????????????????}
rest=${SECRET#"$half"}
echo_spec=$(printf '{"status":200,"match":["list","stream"],"body":{"items":[{"id":"t1","name":"x %s","description":"%s y","meta":{"k":"v %s"},"createdAt":1,"updatedAt":2}],"cursor":""}}' \
    "$half" "$rest" "$SECRET")
for mode in "" --json; do
    fault "$echo_spec"
    cli $mode list u1
    check "list ${mode:-(table)}: the secret sent back as a token's name, cut at a field boundary, is masked" \
        sh -c '[ '"$rc"' = 0 ] && grep -q "t1" "$1"' sh "$tmp/out" && check \
        "list ${mode:-(table)}: not even its halves are printed" sh -c \
        '! grep -qF "$1" "$3" && ! grep -qF "$2" "$3"' sh "$half" "$rest" "$tmp/out" &&
        check "list ${mode:-(table)}: no 8-byte piece of the secret anywhere" no_secret
done
# the secret in a token's meta (key, value, array element) as the server
# escapes it: \" \\ \u20ac (JSON.stringify-like), or every character as \uXXXX
SECRET2='sk-"q\€SECRETsecretXYZ'
esc_spec() { # esc_spec list|stream quote|all
    python3 - "$SECRET2" "$1" "$2" <<'EOF'
import json, sys
k, match, mode = sys.argv[1:4]
text = "".join("\\u%04x" % ord(c) for c in k) if mode == "all" else json.dumps(k)[1:-1]
item = ('{"id":"t1","createdAt":1,"updatedAt":2,"name":"n","meta":{"k":"%s","%s":[1,"x %s",true]}}'
        % (text, text, text))
body = '{"type":"item","data":%s}\n' % item if match == "stream" else '{"items":[%s],"cursor":""}' % item
print(json.dumps({"status": 200, "match": match, "body": body}))
EOF
}
meta_shape() { # one token line; its meta keeps its shape and its harmless values
    python3 - "$1" <<'EOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
m = json.loads(lines[0])["meta"] if len(lines) == 1 else None
ok = isinstance(m, dict) and len(m) == 2 and set(m["k"]) == {"*"}
ok = ok and [v for k, v in m.items() if k != "k"][0][0::2] == [1, True]
sys.exit(0 if ok else 1)
EOF
}
for how in quote all; do
    for op in list stream; do
        flag=
        [ "$op" = stream ] && flag=--stream
        fault "$(esc_spec "$op" "$how")"
        CBK_SECRET=$SECRET2 cli --json list $flag u1
        check "--json list $flag: the secret in meta, escaped by the server ($how), masked whole" sh -c \
            '[ '"$rc"' = 0 ]' && check "--json list $flag ($how): meta keeps its shape and other values" \
            meta_shape "$tmp/out" && check "--json list $flag ($how): no 8-byte piece of the secret" \
            no_secret "$SECRET2"
    done
done
# a cursor that is the secret: -v shows the next page's URL, where the
# library percent-encoded it (%22 %5C %E2%82%AC)
fault "$(python3 -c 'import json, sys; print(json.dumps({"status": 200, "match": "list", "body": {"items": [{"id": "t1", "createdAt": 1, "updatedAt": 2}], "cursor": sys.argv[1]}}))' "$SECRET2")"
CBK_SECRET=$SECRET2 cli -v list --all --take 1 u1
check "-v list --all: the next page's URL, a cursor that is the secret percent-encoded, masked" sh -c \
    '[ "$(grep -c "token/list?.*cursor=\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*\*" "$1")" -eq 1 ]' \
    sh "$tmp/err" && check "-v list --all: no 8-byte piece of the secret in the URLs" no_secret "$SECRET2"
c1_spec='{"status":200,"match":"list","body":{"items":[{"id":"t2","name":"a\u009b31mb","description":"c\u0085d\u001b[2J","meta":{"k":"\u009d0;title\u0007"},"createdAt":1,"updatedAt":2}],"cursor":""}}'
for mode in "" --json; do
    fault "$c1_spec"
    cli $mode list u1
    check "list ${mode:-(table)}: no raw C0 or C1 control reaches the terminal" python3 -c '
import sys
d = open(sys.argv[1], "rb").read().decode("utf-8")
sys.exit(1 if any((ord(c) < 32 and c != "\n") or 0x7f <= ord(c) <= 0x9f for c in d) else 0)' \
        "$tmp/out"
done
fault "$c1_spec"
cli --json list u1
check "--json: C1 controls escaped as \\u009b, \\u0085, \\u009d (the values survive)" python3 -c '
import json, sys
t = json.loads(open(sys.argv[1], encoding="utf-8").readline())
raw = open(sys.argv[1], encoding="utf-8").read()
sys.exit(0 if t["name"] == "a\x9b31mb" and t["meta"]["k"] == "\x9d0;title\x07" and "\\u009b" in raw else 1)' \
    "$tmp/out"
nul_spec='{"status":200,"match":"list","body":{"items":[{"id":"t3","name":"a\u0000b","description":"x","createdAt":1,"updatedAt":2}],"cursor":""}}'
fault "$nul_spec"
cli list u1
check "table: a U+0000 inside a name shows as '?', and the rest of the name too" grep -q '^t3  *a?b  ' \
    "$tmp/out"
fault "$nul_spec"
cli --json list u1
check "--json: a U+0000 inside a name is \\u0000, and the rest of the name too" grep -qF \
    '"name":"a\u0000b"' "$tmp/out"
big=$(python3 -c 'print("d" * 20000)')
fault "{\"status\":200,\"match\":\"list\",\"body\":{\"items\":[{\"id\":\"t4\",\"name\":\"n\",\"description\":\"$big\",\"meta\":{\"k\":\"$big\"},\"createdAt\":1,\"updatedAt\":2}],\"cursor\":\"\"}}"
cli --json list u1
check "a token too long for the CLI's buffer is listed; the cut fields are named on stderr" sh -c \
    '[ '"$rc"' = 0 ] && [ "$(wc -l <"$1")" -eq 1 ] && grep -q "\"meta\":null" "$1" &&
     [ "$(cat "$2")" = "cbk-token: token t4: too long for the CLI'"'"'s buffer, cut: description meta (left out)" ]' \
    sh "$tmp/out" "$tmp/err"
fault "{\"status\":200,\"match\":\"create\",\"body\":{\"id\":\"$SECRET\",\"token\":\"sk-new\",\"createdAt\":5}}"
cli create u1
check "create: an id that is the secret is masked" sh -c '[ '"$rc"' = 0 ] && grep -q "sk-new" "$1"' \
    sh "$tmp/out" && check "create: no piece of the secret" no_secret

# ---- -v and retries ------------------------------------------------------------------
for t in $transports; do
    fault '[{"status":503,"match":"list","headers":{"Retry-After":"0"}},{"status":500,"match":"list"}]'
    cli -v --transport "$t" list u1
    check "$t -v: each request's method, URL, status and time on stderr" sh -c '[ '"$rc"' = 0 ] &&
        [ "$(grep -Ec "^cbk-token: GET http://127\.0\.0\.1:[0-9]+/api/v1/partner/user/u1/token/list\?take=20 -> (503|500|200) \([0-9]+ ms\)$" "$1")" -eq 3 ]' \
        sh "$tmp/err"
    check "$t -v: every retry with its wait" sh -c \
        'grep -q "^cbk-token: HTTP 503; retry 1 of 3 in [0-9]* ms$" "$1" &&
         grep -q "^cbk-token: HTTP 500; retry 2 of 3 in [0-9]* ms$" "$1"' sh "$tmp/err"
    check "$t -v: never the secret" no_secret
    # the library stops reading a body that is not JSON: an HTTP error all the same
    fault '{"status":500,"match":"list","body":"oops","content_type":"text/plain","headers":{"Retry-After":"0"}}'
    cli -v --transport "$t" list u1
    check "$t -v: a 500 with a text/plain body is '-> 500 (N ms)' and 'HTTP 500; retry 1 of 3', no transport failure" \
        sh -c '[ '"$rc"' = 0 ] && [ "$(grep -Ec " -> 500 \([0-9]+ ms\)$" "$1")" -eq 1 ] &&
        grep -q "^cbk-token: HTTP 500; retry 1 of 3 in [0-9]* ms$" "$1" && ! grep -q "failed\|stopped" "$1"' \
        sh "$tmp/err"
done
fault '{"status":503,"match":"list","headers":{"Retry-After":"0"}}'
cli list u1
check "a retry is announced on stderr (without -v too)" sh -c \
    '[ '"$rc"' = 0 ] && grep -q "retry 1 of 3" "$1"' sh "$tmp/err"
fault '{"status":503,"match":"list","headers":{"Retry-After":"0"}}'
cli -q list u1
check "-q: the retry is not announced" sh -c '[ '"$rc"' = 0 ] && [ ! -s "$1" ]' sh "$tmp/err"

# ---- a closed pipe ----------------------------------------------------------------------
for t in $transports; do
    fault '{"synthetic_items":20000,"match":"stream"}'
    { "$CLI" --transport "$t" --json list --stream big 2>"$tmp/err"; echo $? >"$tmp/rc"; } | head -n 1 >"$tmp/out"
    check "$t: list --stream big | head -1: one line, exit 0, nothing on stderr" sh -c \
        '[ "$(cat "$1")" = 0 ] && [ "$(wc -l <"$2")" -eq 1 ] && [ ! -s "$3" ]' sh "$tmp/rc" "$tmp/out" \
        "$tmp/err"
done
if [ -w /dev/full ]; then
    "$CLI" list u1 >/dev/full 2>"$tmp/err"
    rc=$?
    check "stdout on a full disk: 'cbk-token: cannot write the output: ...', exit 1" sh -c \
        '[ '"$rc"' = 1 ] && grep -q "^cbk-token: cannot write the output: " "$1"' sh "$tmp/err"
else
    skip "stdout on a full disk" "/dev/full not writable"
fi

# ---- make install, cmake --install -------------------------------------------------------------
install_checks() {
    make --no-print-directory -s install PREFIX="$tmp/prefix" >"$tmp/install.log" 2>&1
    check "make install PREFIX=DIR: DIR/bin/cbk-token --version works" sh -c \
        '"$1/prefix/bin/cbk-token" --version | grep -q "^cbk-token "' sh "$tmp"
    check "make install PREFIX=DIR: DIR/share/man/man1/cbk-token.1" test -f "$tmp/prefix/share/man/man1/cbk-token.1"
    make --no-print-directory -s install PREFIX=/usr/local DESTDIR="$tmp/dest" >"$tmp/install.log" 2>&1
    check "make install DESTDIR=D PREFIX=/usr/local: D/usr/local/bin/cbk-token" \
        test -x "$tmp/dest/usr/local/bin/cbk-token"
    if command -v man >/dev/null 2>&1; then
        check "cbk-token.1 renders with man" sh -c 'man -l "$1" 2>/dev/null | grep -q "EXIT STATUS"' sh \
            "$ROOT/docs/cbk-token.1"
    else
        skip "cbk-token.1 renders with man" "man not found (apt-get install man-db)"
    fi
    if command -v cmake >/dev/null 2>&1; then
        if cmake -S . -B "$tmp/cmake" -DCMAKE_BUILD_TYPE=Release >"$tmp/cmake.log" 2>&1 &&
            cmake --build "$tmp/cmake" >>"$tmp/cmake.log" 2>&1 &&
            cmake --install "$tmp/cmake" --prefix "$tmp/cprefix" >>"$tmp/cmake.log" 2>&1; then
            check "cmake --install: bin/cbk-token --version works" sh -c \
                '"$1/cprefix/bin/cbk-token" --version | grep -q "^cbk-token "' sh "$tmp"
            check "cmake --install: share/man/man1/cbk-token.1" test -f "$tmp/cprefix/share/man/man1/cbk-token.1"
        else
            tail -n 20 "$tmp/cmake.log"
            bad "cmake configure, build and install"
        fi
    else
        skip "cmake --install puts cbk-token in bin/" "cmake not found (apt-get install cmake)"
    fi
}
if [ "$quick" = 1 ]; then
    echo "note: make install and cmake --install are checked by make test, not make check"
else
    install_checks
fi

echo
counts_line "cli: "
[ "$failed" -eq 0 ]
