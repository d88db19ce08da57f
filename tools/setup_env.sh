#!/usr/bin/env bash
# Idempotent CPU set-up of the OpenMMLab 2.0 stack for mmda in ./.venv.
#
#   torch 2.14.1 + torchvision 0.29.1 (pip takes them from this machine's wheel store)
#   mmcv 2.1.0 built from PyPI's sdist with its ops for CPU, patched to -std=c++20
#     (torch 2.14's headers need C++20; mmcv 2.1.0's setup.py forces c++17).
#     The wheel is built once into ./.wheels (git-ignored) and reused afterwards.
#   mmengine 0.10.7, mmsegmentation 1.2.2, then mmda itself (editable, with [tests]).
#
# GPU users: do not use this script; see README "Installing on a GPU machine".
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}
VENV=${MMDA_VENV:-$ROOT/.venv}
WHEELS=${MMDA_WHEELS:-$ROOT/.wheels}
STAMP=$VENV/.mmda-setup-done
MMCV_VERSION=2.1.0

if [[ -f $STAMP && $STAMP -nt pyproject.toml ]]; then
  exit 0
fi

[[ -x $VENV/bin/python ]] || $PY -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
$PIP install -q --upgrade "pip<26.2" >/dev/null 2>&1 || true

have() { "$VENV/bin/python" - "$@" <<'PYEOF'
import importlib.metadata as m, sys
name, ver = sys.argv[1], sys.argv[2]
try:
    sys.exit(0 if m.version(name).split('+')[0] == ver else 1)
except m.PackageNotFoundError:
    sys.exit(1)
PYEOF
}

if ! have torch 2.14.1 || ! have torchvision 0.29.1; then
  echo "[setup] installing torch 2.14.1 + torchvision 0.29.1 (a few minutes)"
  $PIP install -q torch==2.14.1 torchvision==0.29.1
fi

if ! have mmcv $MMCV_VERSION; then
  mkdir -p "$WHEELS"
  WHL=$(ls "$WHEELS"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z $WHL ]]; then
    echo "[setup] building mmcv $MMCV_VERSION with CPU ops (about 20 minutes on 2 cores, once)"
    $PIP install -q "setuptools<70" wheel ninja packaging
    BUILD=$(mktemp -d)
    $PIP download -q --no-deps --no-binary :all: --no-build-isolation mmcv==$MMCV_VERSION -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
    SRC=$BUILD/mmcv-$MMCV_VERSION
    sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    grep -q 'c++20' "$SRC/setup.py" || { echo "[setup] could not patch mmcv setup.py" >&2; exit 1; }
    ( cd "$SRC" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} \
        $PIP wheel -q --no-build-isolation --no-deps . -w "$WHEELS" )
    rm -rf "$BUILD"
    WHL=$(ls "$WHEELS"/mmcv-$MMCV_VERSION-*.whl | head -n1)
  fi
  $PIP install -q --no-deps "$WHL"
fi

echo "[setup] installing mmengine, mmsegmentation and mmda[tests]"
$PIP install -q "setuptools<70" wheel
$PIP install -q -e ".[tests]"
"$VENV/bin/python" -c "import mmcv.ops, mmseg, mmda; print('[setup] ok: mmcv', mmcv.__version__, 'mmseg', mmseg.__version__)"
touch "$STAMP"
