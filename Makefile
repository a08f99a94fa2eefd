# triton-multimodal. `make demo` and `make test` work on a fresh machine: both run setup first.
VENV := .venv
MM := $(VENV)/bin/mmtriton
PRESET ?= demo
export HF_HUB_OFFLINE := 1
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache

.PHONY: setup demo test bench soak capacity buckets data train export parity repo serve spec clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(MM) demo --preset $(PRESET)

test: setup
	$(VENV)/bin/python -m pytest

# Benchmarks (after `make demo`): quick by default, FULL=1 for every model, c=1..32 and tuning.
bench: setup
	$(MM) bench --preset $(PRESET) $(if $(FULL),--full)

# Soak (after `make demo`): the ensemble at saturation for MINUTES (default 10), RSS/shm/metrics sampled.
soak: setup
	$(MM) soak --preset $(PRESET) $(if $(MINUTES),--minutes $(MINUTES))

# Capacity model (no server needed): replicas from the committed perf.csv + a simulated HPA day.
capacity: setup
	$(MM) capacity

# Length buckets (after `make demo`): encoders batching as TensorRT engines do, counts from Triton.
buckets: setup
	$(MM) buckets --preset $(PRESET)

data: setup
	$(MM) data

train: setup
	$(MM) train --preset $(PRESET)

export: setup
	$(MM) export --preset $(PRESET)

parity: setup
	$(MM) parity --preset $(PRESET)

repo: setup
	$(MM) repo --preset $(PRESET)

# Foreground development server on 127.0.0.1:8000 (HTTP) / 8001 (gRPC) / 8002 (metrics).
serve: setup
	$(MM) demo --preset $(PRESET) --no-requests
	$(MM) serve

spec: setup
	$(MM) spec --preset $(PRESET)

clean:
	rm -rf artifacts .pytest_cache .numba_cache
