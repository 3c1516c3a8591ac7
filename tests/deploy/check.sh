#!/bin/bash
#  Sourced by the deploy tests: check NAME EXPECTED_STATUS PATTERN COMMAND...
#  runs COMMAND and wants its status and its output (stdout and stderr)
#  to match PATTERN; finish prints the tally and gives the test's status.
failures=0 passed=0

check () {
    local name=$1 expected=$2 pattern=$3 output status
    shift 3
    output=$("$@" 2>&1)
    status=$?
    if [ "$status" -ne "$expected" ] || ! grep -qE -- "$pattern" <<<"$output"; then
        echo "FAILED: $name: status $status (wanted $expected), output:"
        echo "    ${output//$'\n'/$'\n    '}"
        failures=$((failures + 1))
    else
        echo "ok: $name"
        passed=$((passed + 1))
    fi
}

#  check_quiet NAME COMMAND...: COMMAND must succeed and print nothing
check_quiet () {
    local name=$1 output status
    shift
    output=$("$@" 2>&1)
    status=$?
    if [ "$status" -ne 0 ] || [ -n "$output" ]; then
        echo "FAILED: $name: status $status (wanted 0, and no output):"
        echo "    ${output//$'\n'/$'\n    '}"
        failures=$((failures + 1))
    else
        echo "ok: $name"
        passed=$((passed + 1))
    fi
}

finish () {
    echo "$passed passed, $failures failed"
    [ "$failures" -eq 0 ]
}
