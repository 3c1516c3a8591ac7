#!/bin/bash
#  Sourced by the deploy tests: check NAME EXPECTED_STATUS PATTERN COMMAND...
#  runs COMMAND and wants its status and its output (stdout and stderr)
#  to match PATTERN; finish prints the tally and gives the test's status.
failures=0 passed=0

#  report NAME OK WANTED STATUS OUTPUT: count and print one check's outcome
report () {
    if [ "$2" = yes ]; then
        echo "ok: $1"
        passed=$((passed + 1))
    else
        echo "FAILED: $1: status $4 (wanted $3), output:"
        echo "    ${5//$'\n'/$'\n    '}"
        failures=$((failures + 1))
    fi
}

check () {
    local name=$1 expected=$2 pattern=$3 output status ok=yes
    shift 3
    output=$("$@" 2>&1)
    status=$?
    if [ "$status" -ne "$expected" ] || ! grep -qE -- "$pattern" <<<"$output"; then
        ok=no
    fi
    report "$name" "$ok" "$expected" "$status" "$output"
}

#  check_quiet NAME COMMAND...: COMMAND must succeed and print nothing
check_quiet () {
    local name=$1 output status ok=yes
    shift
    output=$("$@" 2>&1)
    status=$?
    if [ "$status" -ne 0 ] || [ -n "$output" ]; then
        ok=no
    fi
    report "$name" "$ok" "0, and no output" "$status" "$output"
}

finish () {
    echo "$passed passed, $failures failed"
    [ "$failures" -eq 0 ]
}
