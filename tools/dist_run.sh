#!/usr/bin/env bash
# Usage: bash tools/dist_run.sh NUM_PROCS SCRIPT [SCRIPT args]
# The launcher of tools/dist_train.sh and tools/dist_test.sh: NUM_PROCS
# processes of tools/SCRIPT (train.py, test.py) with torch.distributed.run and
# `--launcher pytorch`. One process per GPU with NCCL; on a machine without
# CUDA the processes run on the CPU over gloo. Multi-node: NNODES, NODE_RANK,
# MASTER_ADDR, PORT.
GPUS=$1
SCRIPT=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname $0)/..":$PYTHONPATH \
$PYTHON -m torch.distributed.run \
    --nnodes=$NNODES \
    --node_rank=$NODE_RANK \
    --master_addr=$MASTER_ADDR \
    --nproc_per_node=$GPUS \
    --master_port=$PORT \
    "$(dirname "$0")/$SCRIPT" \
    "${@:3}" \
    --launcher pytorch
