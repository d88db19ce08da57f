#!/usr/bin/env bash
# Idempotent CPU set-up of the OpenMMLab 2.0 stack for mmda in ./.venv.
#
#   torch 2.14.1 + torchvision 0.29.1 (pip takes them from this machine's wheel store)
#   mmcv 2.1.0 built from PyPI's sdist with its ops for CPU, patched to -std=c++20
#     (torch 2.14's headers need C++20; mmcv 2.1.0's setup.py forces c++17).
#     The wheel is built once into ./.wheels (git-ignored) and reused afterwards,
#     in a throw-away build environment holding the setuptools<70 mmcv's
#     setup.py needs; it sees the venv's torch through a .pth file placed after
#     its own site-packages, so the venv keeps the setuptools torch requires.
#   mmengine 0.10.7, mmsegmentation 1.2.2, then mmda itself (editable, with
#     [tests,datasets]: the slow end-to-end test runs docs/preparing_data.md's
#     commands, whose Cityscapes converter imports cityscapesscripts; pip
#     builds mmda in an isolated environment from pyproject.toml).
#
# GPU users: do not use this script; see docs/installation.md.
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

# Runs a command, dropping from its stderr the lines pip prints for every
# local index of this machine's pip configuration that lacks a project
# ("WARNING: Location 'file:///.../simple/<name>/' is ignored: it is either a
# non-existing path or lacks a specific scheme."); all other output is kept
# and the command's exit status is returned (pipefail).
quiet() {
  { "$@" 2>&1 1>&3 3>&- | { grep -v "^WARNING: Location '.*' is ignored" || true; } >&2; } 3>&1
}

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
  quiet $PIP install -q torch==2.14.1 torchvision==0.29.1
fi

if ! have mmcv $MMCV_VERSION; then
  mkdir -p "$WHEELS"
  WHL=$(ls "$WHEELS"/mmcv-$MMCV_VERSION-*.whl 2>/dev/null | head -n1 || true)
  if [[ -z $WHL ]]; then
    echo "[setup] building mmcv $MMCV_VERSION with CPU ops (about 20 minutes on 2 cores, once)"
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    # The build environment: the same interpreter, setuptools<70 for mmcv's
    # setup.py, ninja; no torch of its own yet, so installing these checks no
    # torch requirement (the venv is not touched).
    "$VENV/bin/python" -m venv "$BUILD/env"
    BPIP="$BUILD/env/bin/python -m pip --disable-pip-version-check"
    quiet $BPIP install -q "setuptools<70" wheel ninja packaging
    # then the venv's packages (torch, numpy) become importable, *after* the
    # build environment's own site-packages: its setuptools is the one used.
    site_of() { "$1" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
    site_of "$VENV/bin/python" > "$(site_of "$BUILD/env/bin/python")/mmda-venv.pth"
    quiet $BPIP download -q --no-deps --no-binary :all: --no-build-isolation mmcv==$MMCV_VERSION -d "$BUILD"
    tar -xzf "$BUILD"/mmcv-$MMCV_VERSION.tar.gz -C "$BUILD"
    SRC=$BUILD/mmcv-$MMCV_VERSION
    sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    grep -q 'c++20' "$SRC/setup.py" || { echo "[setup] could not patch mmcv setup.py" >&2; exit 1; }
    # PATH: torch's extension builder runs `ninja` from the build environment
    ( cd "$SRC" && export PATH="$BUILD/env/bin:$PATH" MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-2} \
        && quiet $BPIP wheel -q --no-build-isolation --no-deps . -w "$WHEELS" )
    rm -rf "$BUILD"
    trap - EXIT
    WHL=$(ls "$WHEELS"/mmcv-$MMCV_VERSION-*.whl | head -n1)
  fi
  quiet $PIP install -q --no-deps "$WHL"
fi

echo "[setup] installing mmengine, mmsegmentation and mmda[tests,datasets]"
quiet $PIP install -q -e ".[tests,datasets]"
"$VENV/bin/python" -c "import mmcv.ops, mmseg, mmda" || {
  echo "[setup] the venv $VENV does not import mmcv.ops, mmseg and mmda (see above)" >&2; exit 1; }
touch "$STAMP"
"$VENV/bin/python" - <<'PYEOF'
import mmcv, mmseg, torch
print(f'[setup] ready: .venv with torch {torch.__version__}, mmcv {mmcv.__version__} '
      f'(CPU ops), mmsegmentation {mmseg.__version__} and mmda; '
      'next: `make demo`, `make test`, or `source .venv/bin/activate`')
PYEOF
