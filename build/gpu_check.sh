#!/usr/bin/env bash
# GPU verification in one command, for a host with an NVIDIA GPU (compute capability >= 7.5),
# Docker and the NVIDIA container toolkit:
#   1. build the three images of the pinned NGC release (.env: TRITON_RELEASE)
#   2. builder: data/model/ONNX if missing, TensorRT engines on this GPU, the tensorrt repository
#   3. the gpu tests in the builder image (TensorRT vs ONNX Runtime: FP32 <= 1e-3, FP16 top-1 >= 99.5 %)
#   4. `docker compose up triton`, health, restricted-API check, every held-out sample through the SDK
#   5. a short perf_analyzer sweep (bench profile) -> benchmarks/results/gpu.md
# and prints one summary (also written to benchmarks/results/gpu_check.txt). Exit status is
# non-zero when any step failed. The server is stopped at the end; volumes are kept.
set -uo pipefail
cd "$(dirname "$0")/.."

COMPOSE=(docker compose)
OUT=benchmarks/results
SUMMARY=$OUT/gpu_check.txt
mkdir -p "$OUT"
declare -a LINES=()
failed=0
step() { printf '\n== %s\n' "$*"; }
note() { LINES+=("$*"); }
fail() { LINES+=("FAILED: $*"); failed=1; }

if [ ! -f .env ]; then
  cp .env.example .env
  key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
  sed -i "s|^TRITON_ADMIN_KEY=$|TRITON_ADMIN_KEY=$key|" .env
  echo "wrote .env with a fresh TRITON_ADMIN_KEY"
fi
set -a; . ./.env; set +a
HTTP="http://127.0.0.1:${TRITON_HTTP_PORT:-8000}"

step "GPU"
gpu=$(nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader | head -1) || { echo "no GPU"; exit 2; }
note "GPU: $gpu; NGC release $TRITON_RELEASE"

step "images"
"${COMPOSE[@]}" --profile bench build builder triton bench || { echo "image build failed"; exit 2; }

step "engines + repository (builder)"
t0=$(date +%s)
if "${COMPOSE[@]}" run --rm builder 2>&1 | tee /tmp/mmtriton-builder.log; then
  note "builder: $(( $(date +%s) - t0 )) s; $(grep -m1 '^engines:' /tmp/mmtriton-builder.log)"
  note "$(grep -E '^  (image|audio|text)_encoder|^  fusion' /tmp/mmtriton-builder.log | tr -s ' ' | paste -sd';' -)"
else
  fail "builder (see /tmp/mmtriton-builder.log)"
fi

step "gpu tests"
# The API-surface test reads the TensorRT bindings wheels that `make setup` fetches; the image has
# the real TensorRT instead, which the engine builds above and these tests exercise directly.
"${COMPOSE[@]}" run --rm -v "$PWD/tests:/opt/mmtriton/tests:ro" builder \
  python3 -m pytest tests/gpu tests/unit/engine --ignore=tests/unit/engine/test_tensorrt_api.py \
  -p no:cacheprovider -ra -q 2>&1 | tee /tmp/mmtriton-gpu-tests.log
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "gpu tests"
note "gpu tests: $(tail -1 /tmp/mmtriton-gpu-tests.log)"

step "serve"
"${COMPOSE[@]}" up -d triton
cid=$("${COMPOSE[@]}" ps -q triton)
health=starting
for _ in $(seq 1 60); do
  health=$(docker inspect --format '{{.State.Health.Status}}' "$cid" 2>/dev/null || echo gone)
  [ "$health" = healthy ] && break
  [ "$health" = unhealthy ] || [ "$health" = gone ] && break
  sleep 5
done
if [ "$health" = healthy ]; then
  note "server: healthy; $(docker logs "$cid" 2>&1 | grep -m1 'check-engines:')"
  open=$(curl -s -o /dev/null -w '%{http_code}' "$HTTP/v2/models/stats")
  keyed=$(curl -s -o /dev/null -w '%{http_code}' -H "${TRITON_ADMIN_HEADER:-admin-key}: $TRITON_ADMIN_KEY" "$HTTP/v2/models/stats")
  note "statistics API: $open without the key, $keyed with it (want 403 / 200)"
  [ "$open" = 403 ] && [ "$keyed" = 200 ] || fail "restricted API"
  "${COMPOSE[@]}" --profile bench run --rm --no-deps bench \
    mmtriton-client predict --url triton:8001 --manifest /artifacts/data/test.jsonl --concurrency 16 --json \
    > /tmp/mmtriton-predictions.jsonl
  summary=$("${COMPOSE[@]}" --profile bench run --rm --no-deps -T bench python3 -c '
import json, sys
from mmtriton.spec import CLASS_NAMES
truth = {json.loads(l)["id"]: CLASS_NAMES[json.loads(l)["label"]] for l in open("/artifacts/data/test.jsonl")}
rows = [json.loads(l) for l in sys.stdin if l.strip()]
errors = sum("error" in r for r in rows)
right = sum(r.get("label") == truth.get(r["id"]) for r in rows)
print(f"{len(rows)} held-out samples through the SDK: {errors} errors, accuracy {right / max(len(rows), 1):.4f}")
' < /tmp/mmtriton-predictions.jsonl)
  note "$summary"
  step "perf sweep"
  if "${COMPOSE[@]}" --profile bench run --rm bench; then
    note "perf sweep: $OUT/gpu.md"
    note "$(grep -m3 -E '^\| *multimodal' "$OUT/gpu.md" || true)"
  else
    fail "perf sweep"
  fi
else
  fail "server not healthy ($health): $(docker logs "$cid" 2>&1 | tail -5)"
fi
"${COMPOSE[@]}" down

printf '\n== summary\n' | tee "$SUMMARY"
printf '%s\n' "${LINES[@]}" | tee -a "$SUMMARY"
exit "$failed"
