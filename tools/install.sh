#!/usr/bin/env bash
# Set up mmseg-sfda on a fresh CPU machine; a second run is quick and changes nothing.
#   bash tools/install.sh
# - torch 2.13.0 only where no torch is importable (never a second torch);
# - mmcv 2.1.0 built from source with ops only where `import mmcv.ops` fails;
# - mmengine 0.10.7, mmsegmentation 1.2.2, the small runtime deps and the test runner
#   (pytest, pytest-xdist 3.8.0 with execnet 2.1.2: README's test command uses -n 2);
# - this package in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PIP="$PY -m pip"

have() { $PY - "$@" >/dev/null 2>&1; }

if ! have <<<'import torch'; then
  echo "[install] torch not found: installing torch==2.13.0"
  $PIP install torch==2.13.0
else
  echo "[install] torch present: $($PY -c 'import torch; print(torch.__version__)')"
fi
TORCH_PIN="torch==$($PY -c 'import torch; print(torch.__version__.split("+")[0])')"
# Every later pip call is constrained to the installed torch so nothing can pull another one.
CONSTRAINTS=$(mktemp)
trap 'rm -f "$CONSTRAINTS"' EXIT
echo "$TORCH_PIN" >"$CONSTRAINTS"

missing=()
for spec in "mmengine==0.10.7:mmengine:0.10.7" "mmsegmentation==1.2.2:mmseg:1.2.2" \
    "pytest-xdist==3.8.0:xdist:3.8.0" "execnet==2.1.2:execnet:2.1.2"; do
  IFS=: read -r req mod ver <<<"$spec"
  have <<<"import importlib.metadata as m, sys; sys.exit(m.version('${req%%==*}') != '$ver')" || missing+=("$req")
done
for req in "numpy" "opencv-python" "scipy" "matplotlib" "prettytable" "ftfy" "regex" "pytest" "filelock" "setuptools<70" "wheel" "ninja"; do
  name=${req%%[<>=]*}
  have <<<"import importlib.metadata as m; m.version('$name')" || missing+=("$req")
done
if ((${#missing[@]})); then
  echo "[install] installing: ${missing[*]}"
  $PIP install -c "$CONSTRAINTS" "${missing[@]}"
fi
# setuptools>=70 dropped pkg_resources, which mmcv's setup.py needs.
have <<<"import pkg_resources" || $PIP install -c "$CONSTRAINTS" "setuptools<70"

if have <<<'import mmcv, mmcv.ops; from mmcv.ops import nms; assert mmcv.__version__ == "2.1.0"'; then
  echo "[install] mmcv $($PY -c 'import mmcv; print(mmcv.__version__)') with ops present: build skipped"
else
  echo "[install] building mmcv 2.1.0 with ops from source (about 10 minutes on 2 cores)"
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} FORCE_CUDA=0 \
    $PIP install -c "$CONSTRAINTS" --no-build-isolation mmcv==2.1.0
fi

# The editable install must point at this checkout (a clone elsewhere reinstalls); ask
# from / so the checkout itself is not on sys.path.
installed=$(cd / && $PY -c 'import os, mmseg_sfda; print(os.path.dirname(os.path.dirname(os.path.realpath(mmseg_sfda.__file__))))' 2>/dev/null || true)
if [ "$installed" != "$(pwd -P)" ]; then
  echo "[install] installing mmseg-sfda from $(pwd -P) in editable mode"
  $PIP install -c "$CONSTRAINTS" --no-deps --no-build-isolation -e .
fi

(cd / && $PY -c 'import torch, mmcv, mmcv.ops, mmengine, mmseg, mmseg_sfda; print("[install] ok: torch", torch.__version__, "mmcv", mmcv.__version__, "mmengine", mmengine.__version__, "mmseg", mmseg.__version__, "mmseg_sfda from", mmseg_sfda.__file__)')
