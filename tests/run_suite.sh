#!/usr/bin/env bash
# `make test`: the scenarios (end-to-end stories that mostly wait on timers) run beside the rest of
# the suite, each pytest with its own NATS, PostgreSQL and temp dir, so the two cores stay busy.
# With arguments (PYTEST_ARGS) it is one plain pytest run of what they name.
set -uo pipefail
py=$1; shift
if [ $# -gt 0 ]; then exec "$py" -m pytest "$@"; fi

mkdir -p artifacts
log=artifacts/scenarios.log
base=$(mktemp -d -t fixline-tests.XXXXXX)
echo "make test: tests/scenarios run in the background (output: $log, shown at the end); the rest here."
"$py" -m pytest tests/scenarios -q -p no:randomly --basetemp="$base/scenarios" >"$log" 2>&1 &
scenarios=$!
"$py" -m pytest --ignore=tests/scenarios --basetemp="$base/rest"
rest=$?
echo "waiting for tests/scenarios..."
wait "$scenarios"
stories=$?
echo "---------------------------------------- tests/scenarios ($log)"
cat "$log"
rm -rf "$base"
if [ "$rest" -ne 0 ] || [ "$stories" -ne 0 ]; then
  echo "make test: FAILED (suite exit $rest, scenarios exit $stories)"
  exit 1
fi
