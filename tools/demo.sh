#!/bin/sh
# make demo: the cbk-token CLI against the bundled mock API, on a free
# loopback port, with no account and no network. Starts the mock, runs a
# short scripted session, and always stops the mock. TRANSPORT=curl|posix
# picks the transport; by default curl when the CLI was built with libcurl
# (make builds it without when libcurl's development files are missing),
# else posix.
set -eu
cd "$(dirname "$0")/.."
CLI=./examples/cbk-token
if [ -z "${TRANSPORT:-}" ]; then
    TRANSPORT=posix
    "$CLI" --version | grep -q '^transports:.* curl' && TRANSPORT=curl
fi
export CBK_SECRET=sk-demo-secret

out=$(mktemp -d)
python3 tests/mock_api.py --port 0 --secret "$CBK_SECRET" --clock-start 1796000000000 \
    --seed 7 --max-seconds 120 >"$out/port" &
mock=$!
trap 'kill "$mock" 2>/dev/null; wait "$mock" 2>/dev/null; rm -rf "$out"' EXIT INT TERM
# up to a minute for its PORT line: python3 took 15 s to start on a loaded machine
i=0
while ! grep -q '^PORT ' "$out/port" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 1200 ] && { echo "demo: the mock API did not start" >&2; exit 1; }
    sleep 0.05
done
port=$(sed -n 's/^PORT //p' "$out/port")
export CBK_BASE_URL="http://127.0.0.1:$port"
echo "mock ChatBotKit API on $CBK_BASE_URL"
"$CLI" --version | sed -n 1p
echo "transport: $TRANSPORT$([ "$TRANSPORT" = posix ] && echo " (plain HTTP over POSIX sockets)")"

# step TITLE ARGS...: shows the command, then runs it
step() {
    [ -n "$1" ] && printf '\n# %s\n' "$1"
    shift
    printf '$ cbk-token'
    for a in "$@"; do
        case $a in
        *" "*) printf " '%s'" "$a" ;;
        *) printf ' %s' "$a" ;;
        esac
    done
    printf '\n'
    "$CLI" --transport "$TRANSPORT" "$@"
}

step "create two tokens for user-42" create --name "Kitchen display" \
    --description "The one by the fridge" --meta room=kitchen user-42
step "" create --name "Garage sensor" --meta room=garage user-42
step "list them (one page, as a table)" list user-42
step "stream them as JSON Lines (one JSON object per line)" --json list --stream user-42
first=$("$CLI" --transport "$TRANSPORT" -q --json list --order asc user-42 |
    sed -n '1s/^{"id":"\([^"]*\)".*/\1/p')
second=$("$CLI" --transport "$TRANSPORT" -q --json list --order desc user-42 |
    sed -n '1s/^{"id":"\([^"]*\)".*/\1/p')
step "rename the first" update --name "Kitchen display (v2)" user-42 "$first"
step "delete the second" delete user-42 "$second"
step "list again, every page" list --all user-42
printf '\n# an API error: deleting a token that does not exist\n'
printf '$ cbk-token delete user-42 cm-does-not-exist\n'
if "$CLI" --transport "$TRANSPORT" delete user-42 cm-does-not-exist; then
    echo "demo: expected an error" >&2
    exit 1
else
    echo "(exit status $?)"
fi
echo
echo "demo done (transport: $TRANSPORT); the mock API is stopped."
