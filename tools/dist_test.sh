#!/usr/bin/env bash
# Usage: bash tools/dist_test.sh CONFIG CHECKPOINT NUM_PROCS [test.py args]
# (tools/dist_run.sh)
exec bash "$(dirname "$0")/dist_run.sh" "$3" test.py "$1" "$2" "${@:4}"
