"""Where generated artifacts live (``artifacts/`` unless MMTRITON_ARTIFACTS says otherwise)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Artifacts:
    root: Path

    @classmethod
    def default(cls) -> "Artifacts":
        return cls(Path(os.environ.get("MMTRITON_ARTIFACTS", "artifacts")))

    @property
    def data(self) -> Path:
        return self.root / "data"

    def manifest(self, split: str) -> Path:
        return self.data / f"{split}.jsonl"

    def run(self, preset: str) -> Path:
        return self.root / preset

    def checkpoint(self, preset: str) -> Path:
        return self.run(preset) / "checkpoint.pt"

    def metrics(self, preset: str) -> Path:
        return self.run(preset) / "metrics.json"

    def onnx(self, preset: str) -> Path:
        return self.run(preset) / "onnx"

    def engines(self, preset: str) -> Path:
        """TensorRT engines, one folder per precision, and the timing cache. MMTRITON_ENGINES puts
        them elsewhere: the chart's build Jobs share one trained model but not their engines
        and timing caches, which belong to one GPU product each."""
        override = os.environ.get("MMTRITON_ENGINES")
        return Path(override) / preset if override else self.run(preset) / "engines"

    @property
    def triton(self) -> Path:
        """The embedded server's working folder (logs, the generated admin key)."""
        return self.root / "triton"
