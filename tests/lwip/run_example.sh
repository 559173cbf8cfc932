#!/bin/sh
# run_example.sh - examples/embedded (build/embedded_host) on the host, over
# lwIP + mbedTLS, through a TAP device in a network namespace this script
# creates: the mock API and a TLS front (certificate with an iPAddress SAN,
# made here with openssl) listen on the TAP's peer 198.51.100.1 (TEST-NET-2;
# nothing leaves the namespace). Seeds 3 tokens for user-1, runs the
# example against https://198.51.100.1:<front>, checks it printed them.
# Everything it starts is stopped by PID; the namespace is deleted.
# Closes with "N passed, M failed". Root, Linux.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
bin=$BUILD/embedded_host
ns=cbk-ex-$$
tap=cbkex$(($$ % 100000))
dir=$BUILD/example-tls
secret=sk-example-4Fw9Qz2Lp7
pids=""

cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
    rm -f "$BUILD"/example-*.$$.out
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "$1"
    echo "0 passed, 1 failed"
    exit 1
}

# start_server NAME CMD...: runs CMD in the namespace, waits for its "PORT n" line
start_server() {
    name=$1
    shift
    out=$BUILD/example-$name.$$.out
    rm -f "$out" # the port is read from it: never from an earlier run's
    ip netns exec "$ns" "$@" >"$out" 2>"$BUILD/example-$name.err" &
    pids="$pids $!"
    i=0
    while [ $i -lt 600 ]; do # up to a minute: python3 starts slowly on a loaded machine
        port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out" 2>/dev/null)
        [ -n "$port" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    fail "$name did not start (see $BUILD/example-$name.err)"
}

[ -x "$bin" ] || fail "$bin not built"
ip netns add "$ns" || fail "ip netns add failed"
ip -n "$ns" link set lo up &&
    ip -n "$ns" tuntap add dev "$tap" mode tap &&
    ip -n "$ns" addr add 198.51.100.1/24 dev "$tap" &&
    ip -n "$ns" link set "$tap" mtu 576 up || fail "could not make the TAP device"

rm -rf "$dir" && mkdir -p "$dir" || exit 2
(
    cd "$dir" &&
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out ca.key &&
        openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=example-ca \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign &&
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out srv.key &&
        openssl req -new -key srv.key -out srv.csr -subj /CN=example &&
        printf 'basicConstraints=CA:FALSE\nsubjectAltName=IP:198.51.100.1\n' >srv.ext &&
        openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
            -extfile srv.ext -out srv.pem
) >"$dir.log" 2>&1 || fail "openssl failed (see $dir.log)"

start_server mock python3 tests/mock_api.py --host 198.51.100.1 --secret "$secret" --max-seconds 120
mock=$port
start_server front python3 tests/tls_front.py --cert "$dir/srv.pem" --key "$dir/srv.key" \
    --host 198.51.100.1 --upstream-host 198.51.100.1 --upstream-port "$mock" --max-seconds 120
front=$port
ip netns exec "$ns" python3 -c '
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/__mock/seed", method="POST",
    data=b"{\"user\":\"user-1\",\"count\":3,\"name_prefix\":\"tok \"}",
    headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()' "http://198.51.100.1:$mock" ||
    fail "could not seed the mock"

out=$BUILD/example-run.out
ip netns exec "$ns" env PRECONFIGURED_TAPIF="$tap" CBK_EMB_IP=198.51.100.2 \
    CBK_EMB_GW=198.51.100.1 CBK_EMB_BASE_URL="https://198.51.100.1:$front" \
    CBK_EMB_CA="$dir/ca.pem" CBK_EMB_USER=user-1 CBK_API_SECRET="$secret" \
    timeout 60 "$bin" >"$out" 2>&1
rc=$?
cat "$out"
n=$(grep -c ' tok [0-9]$' "$out")
if [ "$rc" -eq 0 ] && [ "$n" -eq 3 ] && ! grep -q "$secret" "$out"; then
    echo "examples/embedded over lwIP + mbedTLS: listed $n tokens"
    echo "1 passed, 0 failed"
else
    fail "examples/embedded: exit $rc, $n tokens listed (expected 3)"
fi
