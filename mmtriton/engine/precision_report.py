"""FP16 and INT8 ONNX graphs (``engine.converted``) against PyTorch FP32, on CPU, before any GPU.

What a GPU host would otherwise find out only after an engine build: whether ONNX Runtime can
run every converted graph (the nodes it cannot are named), how much of each graph is in low
precision, and how the held-out split's predictions move. The held-out samples go through the
shared preprocessing, then the encoders and the fusion model, in PyTorch FP32 (the reference)
and in ONNX Runtime on the converted graphs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from mmtriton.spec.graph import ModelGraph

TARGETS = {"fp16": {"top1_agreement": 0.995, "max_prob_diff": 1e-2}, "int8": {"top1_agreement": 0.99}}


@dataclass
class PrecisionParity:
    precision: str
    recipe: str
    samples: int = 0
    top1_agreement: float = float("nan")
    max_prob_diff: float = float("nan")
    models: dict[str, dict] = field(default_factory=dict)  # name -> {low_precision_nodes, nodes, ort_error}

    def met(self) -> bool:
        t = TARGETS[self.precision]
        if any(m["ort_error"] for m in self.models.values()) or not self.samples:
            return False
        return self.top1_agreement >= t["top1_agreement"] and self.max_prob_diff <= t.get("max_prob_diff", 1.0)


def graph_census(path: Path, precision: str) -> dict:
    """Nodes in the graph, and how many compute in low precision (FP16 casts / Q-DQ pairs)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    nodes = model.graph.node
    if precision == "int8":
        low = sum(n.op_type == "DequantizeLinear" for n in nodes)
    else:
        half = {i.name for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16}
        low = sum(any(x in half for x in n.input) for n in nodes)
    return {"nodes": len(nodes), "low_precision_nodes": low}


def ort_problem(path: Path) -> Optional[str]:
    """None when ONNX Runtime's CPU provider loads the graph, else its reason (it names the node)."""
    from mmtriton.runtime import ort_session

    try:
        ort_session(path)
    except Exception as e:  # noqa: BLE001 - ORT raises its own exception types; the message is the finding
        return str(e).strip()[:600]
    return None


def measure(graph: ModelGraph, checkpoint: Path, test_manifest: Path, folders: dict[str, Path],
            samples: int) -> list[PrecisionParity]:
    from mmtriton.engine.parity import end_to_end, heldout_batches
    from mmtriton.engine.precision import recipe
    from mmtriton.models.runners import torch_runners
    from mmtriton.runtime import ort_runners
    from mmtriton.training.checkpoint import load_model

    model, _, _ = load_model(checkpoint)
    reference = torch_runners(model, graph)
    batches = heldout_batches(graph, test_manifest, samples)
    out = []
    for precision, folder in folders.items():
        r = PrecisionParity(precision, recipe(precision).id)
        for spec in graph.exported:
            path = folder / f"{spec.name}.onnx"
            r.models[spec.name] = {**graph_census(path, precision), "ort_error": ort_problem(path)}
        if not any(m["ort_error"] for m in r.models.values()):
            e2e = end_to_end(graph, batches, reference, ort_runners(graph, folder))
            r.samples, r.top1_agreement, r.max_prob_diff = e2e.samples, e2e.top1_agreement, e2e.max_prob_diff
        out.append(r)
    return out


def to_markdown(results: list[PrecisionParity], command: str, environment: str) -> str:
    rows = []
    for r in results:
        t = TARGETS[r.precision]
        target = f"top-1 >= {t['top1_agreement']:.1%}" + (f", max dp <= {t['max_prob_diff']:g}" if "max_prob_diff" in t else "")
        rows.append(f"| {r.precision} | {r.samples} | {r.top1_agreement:.2%} | {r.max_prob_diff:.2e} | {target} | "
                    f"{'met' if r.met() else 'MISSED'} |")
    models = [f"| {r.precision} | {name} | {m['low_precision_nodes']} / {m['nodes']} | {m['ort_error'] or 'runs'} |"
              for r in results for name, m in r.models.items()]
    return "\n".join([
        "# FP16 / INT8 ONNX graphs vs PyTorch FP32 (CPU, ONNX Runtime)", "",
        f"Produced by `{command}` ({environment}). The engines a GPU host builds are built from exactly these "
        "graphs (TensorRT 10/11, strongly typed, no precision flags). Held-out samples: preprocessing -> "
        "encoders -> fusion, PyTorch FP32 as reference.", "",
        "| precision | samples | top-1 agreement | max abs prob diff | target | result |",
        "|---|---:|---:|---:|---|---|", *rows, "",
        "| precision | model | low-precision nodes (fp16: fed FP16 weights; int8: DequantizeLinear) / nodes | ONNX Runtime CPU |", "|---|---|---:|---|", *models, "",
        "Recipes:", "", *[f"- {r.precision}: `{r.recipe}`" for r in results], ""])


def as_json(results: list[PrecisionParity]) -> list[dict]:
    return [{**asdict(r), "met": r.met()} for r in results]
