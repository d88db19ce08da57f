#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG NUM_PROCS [train.py args]
# (tools/dist_run.sh: NCCL on GPUs, gloo on the CPU; multi-node: NNODES,
# NODE_RANK, MASTER_ADDR, PORT)
exec bash "$(dirname "$0")/dist_run.sh" "$2" train.py "$1" "${@:3}"
