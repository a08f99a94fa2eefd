"""Test-only fault injection for the session repository: one text_preprocess instance can be made
to block on demand (see TextPreprocess._maybe_hang); generated repositories never carry it."""

from __future__ import annotations

from pathlib import Path

HANG_TEXT = "fault injection: hang this instance"
HANG_SECONDS = 8


def inject_hang(config: Path) -> None:
    from mmtriton.repository.config import render
    from mmtriton.repository.structure import parse_config

    cfg = parse_config(config)
    cfg.parameters["fault_injection_hang_text"].string_value = HANG_TEXT
    cfg.parameters["fault_injection_hang_s"].string_value = str(HANG_SECONDS)
    config.write_text(render(cfg))
