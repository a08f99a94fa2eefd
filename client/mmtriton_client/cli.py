"""``mmtriton-client``: predictions from the command line (stdlib argparse, no extra deps).

Exit codes: 0 ok, 2 invalid input, 3 server unavailable, 1 anything else.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator, Optional

from mmtriton_client.errors import ClientError, InvalidInputError, ServerUnavailableError
from mmtriton_client.sync import Client
from mmtriton_client.types import Prediction

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp"}
AUDIO_EXT = {".wav", ".flac", ".ogg", ".mp3"}


def exit_code(error: Optional[BaseException]) -> int:
    if error is None:
        return 0
    if isinstance(error, InvalidInputError):
        return 2
    if isinstance(error, ServerUnavailableError):
        return 3
    return 1


def as_dict(p: Prediction) -> dict:
    out = {"label": p.label, "confidence": round(p.confidence, 6), "modalities": list(p.modalities)}
    if p.probabilities is not None:
        out["probabilities"] = {c: round(float(x), 6) for c, x in zip(p.class_names, p.probabilities)}
    if p.ranked:  # the server's classification extension: best first
        out["top_k"] = [{"label": c.label, "index": c.index, "score": round(c.score, 6)} for c in p.ranked]
    out["latency_ms"] = round(p.latency_ms or 0.0, 2)
    return out


def render(p: Prediction) -> str:
    k = len(p.ranked) or 3
    top = ", ".join(f"{name} {prob:.3f}" for name, prob in p.top(k))
    return f"{p.label:<8} p={p.confidence:.3f}  via {'+'.join(p.modalities):<17} {p.latency_ms:7.1f} ms  top{k}: {top}"


def folder_items(folder: Path) -> Iterator[tuple[str, dict]]:
    """Files grouped by stem: <stem>.<image ext>, <stem>.<audio ext>, <stem>.txt."""
    stems: dict[str, dict] = {}
    for f in sorted(folder.iterdir()):
        kind = "image" if f.suffix.lower() in IMAGE_EXT else "audio" if f.suffix.lower() in AUDIO_EXT else \
            "text" if f.suffix.lower() == ".txt" else None
        if kind:
            stems.setdefault(f.stem, {})[kind] = f.read_text().strip() if kind == "text" else str(f)
    yield from stems.items()


def manifest_items(path: Path) -> Iterator[tuple[str, dict]]:
    """JSONL rows {"id", "image", "audio", "text"}; paths relative to the manifest's folder."""
    for n, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        row = json.loads(line)
        item = {k: str(path.parent / row[k]) for k in ("image", "audio") if row.get(k)}
        if row.get("text"):
            item["text"] = row["text"]
        yield str(row.get("id", n)), item


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def read_items(args: argparse.Namespace) -> list[tuple[str, dict]]:
    """Folder or manifest rows; unreadable input is the user's to fix (exit 2)."""
    try:
        return list(folder_items(args.folder) if args.folder else manifest_items(args.manifest))
    except (OSError, ValueError, KeyError) as e:
        raise InvalidInputError(f"cannot read {args.folder or args.manifest}: {e}") from e


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mmtriton-client", description="Call the triton-multimodal service.")
    sub = p.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("predict", help="predict one sample, a folder of samples or a JSONL manifest")
    pr.add_argument("--url", default=None, help="host:port (default 127.0.0.1:8001 gRPC / :8000 HTTP)")
    pr.add_argument("--protocol", choices=("grpc", "http"), default="grpc")
    pr.add_argument("--image"), pr.add_argument("--audio"), pr.add_argument("--text")
    pr.add_argument("--folder", type=Path, help="predict every <stem>.{image,audio,txt} group in a folder")
    pr.add_argument("--manifest", type=Path, help="predict every row of a JSONL manifest")
    pr.add_argument("--json", action="store_true", help="print JSON (one object per line for many)")
    pr.add_argument("--timeout", type=float, default=30.0)
    pr.add_argument("--concurrency", type=_positive, default=8)
    pr.add_argument("--top-k", type=_positive, default=None,
                    help="the server ranks the k best classes (Triton's classification extension)")
    return p


def predict_one(client: Client, args: argparse.Namespace) -> int:
    try:
        p = client.predict(image=args.image, audio=args.audio, text=args.text, top_k=args.top_k)
    except ClientError as e:
        print(f"error: {e}", file=sys.stderr)
        return exit_code(e)
    print(json.dumps(as_dict(p)) if args.json else render(p))
    return 0


def predict_many(client: Client, items: list[tuple[str, dict]], args: argparse.Namespace) -> int:
    worst = 0
    for start in range(0, len(items), args.concurrency * 4):
        chunk = items[start:start + args.concurrency * 4]
        for (key, _), res in zip(chunk, client.predict_batch([i for _, i in chunk], max_in_flight=args.concurrency, top_k=args.top_k)):
            worst = max(worst, exit_code(res.error))
            if args.json:
                print(json.dumps({"id": key, **(as_dict(res.prediction) if res.ok else {"error": str(res.error)})}))
            else:
                print(f"{key:<16} " + (render(res.prediction) if res.ok else f"error: {res.error}"))
        print(f"\r{min(start + len(chunk), len(items))}/{len(items)} done", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return worst


def main(argv: Optional[list[str]] = None) -> int:
    args = parser().parse_args(argv)
    with Client(args.url, protocol=args.protocol, timeout=args.timeout) as client:
        try:
            if args.folder or args.manifest:
                return predict_many(client, read_items(args), args)
            return predict_one(client, args)
        except ClientError as e:
            print(f"error: {e}", file=sys.stderr)
            return exit_code(e)


if __name__ == "__main__":
    sys.exit(main())
