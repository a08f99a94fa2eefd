"""What the server publishes about the ensemble (names, limits, classes), read once per client.

The ensemble's config.pbtxt carries these as parameters generated from the server's spec, so
this SDK never hard-codes a tensor name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mmtriton_client.errors import InferenceError

MODALITIES = ("image", "audio", "text")


@dataclass(frozen=True)
class ModelInfo:
    model: str
    inputs: dict  # modality -> input name
    outputs: dict  # role (probabilities, label, fused_embedding, <modality>_embedding) -> output name
    class_names: tuple[str, ...]
    limits: dict  # e.g. image_bytes -> int
    tensor_model: str
    max_batch_size: int
    preset: str = "demo"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "ModelInfo":
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        try:
            inputs = {m: params[f"input.{m}"] for m in MODALITIES}
            class_names = tuple(params["class_names"].split(","))
        except KeyError as e:
            raise InferenceError(f"model {config.get('name')!r} does not publish {e}; is it the multimodal ensemble?") from e
        limits = {k[len("limit."):]: float(v) for k, v in params.items() if k.startswith("limit.")}
        outputs = {k[len("output."):]: v for k, v in params.items() if k.startswith("output.")}
        return cls(config.get("name", ""), inputs, outputs, class_names, limits,
                   params.get("tensor_model", ""), int(config.get("max_batch_size", 0)), params.get("preset", "demo"))

    def output(self, role: str) -> str:
        if role not in self.outputs:
            raise InferenceError(f"server does not publish an output for {role!r}")
        return self.outputs[role]
