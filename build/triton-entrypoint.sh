#!/usr/bin/env bash
# Entrypoint of the `triton` and `triton-cpu` services: refuse engines built for another GPU or
# TensorRT, then exec tritonserver with the hardened flags. Never echoes the admin key.
set -euo pipefail

# Kubernetes mounts the key as a file (a Secret volume); compose passes it in the environment.
if [ -n "${TRITON_ADMIN_KEY_FILE:-}" ]; then
  [ -r "$TRITON_ADMIN_KEY_FILE" ] || { echo "TRITON_ADMIN_KEY_FILE=$TRITON_ADMIN_KEY_FILE is not readable" >&2; exit 2; }
  TRITON_ADMIN_KEY=$(tr -d '\r\n' < "$TRITON_ADMIN_KEY_FILE")
fi
: "${TRITON_ADMIN_KEY:?TRITON_ADMIN_KEY is empty: set it in .env (see .env.example), or TRITON_ADMIN_KEY_FILE}"
REPOSITORY=${MODEL_REPOSITORY:-/models}
HEADER=${TRITON_ADMIN_HEADER:-admin-key}
RESTRICTED=${TRITON_RESTRICTED_APIS:-model-repository,shared-memory,statistics,trace,logging}

if [ ! -f "$REPOSITORY/multimodal/config.pbtxt" ]; then
  echo "no model repository in $REPOSITORY: the builder service writes it (docker compose run --rm builder)" >&2
  exit 2
fi
mmtriton check-engines --repository "$REPOSITORY"

exec tritonserver \
  --model-repository="$REPOSITORY" \
  --model-control-mode=none \
  --strict-readiness=true \
  --exit-timeout-secs="${TRITON_EXIT_TIMEOUT:-30}" \
  --http-port=8000 --grpc-port=8001 --metrics-port=8002 \
  --http-restricted-api="${RESTRICTED}:${HEADER}=${TRITON_ADMIN_KEY}" \
  --grpc-restricted-protocol="${RESTRICTED}:${HEADER}=${TRITON_ADMIN_KEY}" \
  --log-verbose=0 \
  "$@"
