#!/usr/bin/env bash
# An environment with NVIDIA ModelOpt for the FP16/INT8 ONNX conversion on a machine without the
# builder image (about 2 GB: torch, onnxruntime-gpu, cupy; none of it needs a GPU to convert).
# Not part of `make setup`: its pins (onnx 1.21, onnxruntime 1.24) clash with the serving stack.
#   bash scripts/modelopt-venv.sh && MMTRITON_MODELOPT_PYTHON=.tools/modelopt/bin/python \
#     .venv/bin/mmtriton precision-parity
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .tools/modelopt/bin/python ] || "$PYTHON" -m venv .tools/modelopt
PIP=".tools/modelopt/bin/pip --disable-pip-version-check -q"
REQ="$PYTHON build/requirements.py"
$PIP install "$($REQ --extras train --only torch)"   # the CPU build; ModelOpt needs torch >= 2.8
$PIP install "$($REQ --extras precision --only nvidia-modelopt)"
.tools/modelopt/bin/python -c "import modelopt.onnx.autocast, modelopt.onnx.quantization; print('ModelOpt ready')"
