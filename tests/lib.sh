# shellcheck shell=sh
# tests/lib.sh - what the test scripts share; sourced from the repository
# root (`. tests/lib.sh`), never run. POSIX sh.
#
#   counts_init          passed, failed, skipped = 0; require_all = 1 under
#                        CI (CI=true or CBK_REQUIRE_ALL=1), where a skip is
#                        a failure
#   counts_skip          counts one skip: skipped + 1, or under CI failed + 1
#                        and returns 1 (the caller says so in its own words)
#   counts_line [PREFIX] the closing line "PREFIXN passed, M failed" with
#                        ", K skipped" when K > 0 (tests/run_tests.sh adds
#                        up these lines)
#   mock_start LOG PORT_FILE ARG...   tests/mock_api.py on 127.0.0.1, any
#                        port (written to PORT_FILE), its output to LOG,
#                        ARG... on top; mock_pid is its PID. 0 once it
#                        listens; 1 (LOG printed) when it did not within 60 s
#                        (python3 took 15 s to start on a loaded machine)
#   mock_stop            stops mock_api.py by its PID, if one runs

counts_init() {
    require_all=0
    [ "${CI:-}" = "true" ] && require_all=1
    [ "${CBK_REQUIRE_ALL:-}" = "1" ] && require_all=1
    passed=0
    failed=0
    skipped=0
}

counts_skip() {
    if [ "$require_all" = 1 ]; then
        failed=$((failed + 1))
        return 1
    fi
    skipped=$((skipped + 1))
}

counts_line() {
    if [ "$skipped" -gt 0 ]; then
        echo "${1:-}$passed passed, $failed failed, $skipped skipped"
    else
        echo "${1:-}$passed passed, $failed failed"
    fi
}

mock_pid=
mock_start() {
    mock_log=$1 mock_port_file=$2
    shift 2
    python3 tests/mock_api.py --host 127.0.0.1 --port 0 --port-file "$mock_port_file" "$@" \
        >"$mock_log" 2>&1 &
    mock_pid=$!
    mock_wait=0
    while [ ! -s "$mock_port_file" ] && [ $mock_wait -lt 600 ]; do
        sleep 0.1
        mock_wait=$((mock_wait + 1))
    done
    [ -s "$mock_port_file" ] && return 0
    cat "$mock_log"
    return 1
}

mock_stop() {
    if [ -n "$mock_pid" ]; then
        kill "$mock_pid" 2>/dev/null
        wait "$mock_pid" 2>/dev/null
    fi
    mock_pid=
}
