"""Test-only models that make faults happen on demand, whatever the host's speed.

Each one replaces a generated ``model.py`` in a test repository with a subclass of the
production model (so everything else it does is the real thing); generated repositories and
the production classes never carry any of this.

- ``inject_hang``: a ``text_preprocess`` instance blocks on one marker text until the test
  creates a release file (at most ``HANG_MAX_SECONDS``) while its heartbeat keeps answering, as
  a stuck ``execute()`` would.
- ``inject_switched_hold``: an encoder holds every execution while a flag file exists, so the
  requests of a concurrent burst queue up and *must* be batched together (the batching tests).
- ``inject_hold``: ``postprocess`` holds every execution for a fixed time, so a burst of requests
  *must* queue there, on a fast host as on a slow one. Postprocess is the last step: a request
  refused in its queue has no sibling step still running (Triton 2.51's ensemble wedges when a
  step fails while siblings run; model_repository/README.md).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

HANG_TEXT = "fault injection: hang this instance"
HANG_MAX_SECONDS = 120
ENCODER_HOLD_SECONDS = 0.25

_HANG_MODEL = '''"""Test-only (tests/integration/fault_injection.py): blocks on one marker text."""
import os
import time

from mmtriton.serving.models import TextPreprocess


class TritonPythonModel(TextPreprocess):
    def decode(self, data):
        text = super().decode(data)
        if text == {marker!r}:
            deadline = time.monotonic() + {seconds!r}
            while not os.path.exists({release!r}) and time.monotonic() < deadline:
                time.sleep(0.05)
        return text
'''

_SWITCHED_HOLD_MODEL = '''"""Test-only (tests/integration/fault_injection.py): holds while a flag file exists."""
import os
import time

from mmtriton.serving.models import OnnxModel


class TritonPythonModel(OnnxModel):
    def execute(self, requests):
        if os.path.exists({flag!r}):
            time.sleep({seconds!r})
        return super().execute(requests)
'''

_HOLD_MODEL = '''"""Test-only (tests/integration/fault_injection.py): every execution takes {seconds!r} s."""
import time

from mmtriton.serving.models import Postprocess


class TritonPythonModel(Postprocess):
    def execute(self, requests):
        time.sleep({seconds!r})
        return super().execute(requests)
'''


def _replace_model(model_dir: Path, source: str) -> None:
    path = model_dir / "1" / "model.py"
    assert path.is_file(), f"{path} must exist: only generated Python models are replaced"
    path.write_text(source)


def inject_hang(model_dir: Path, release: Path, marker: str = HANG_TEXT) -> None:
    """``model_dir`` is the text_preprocess folder of a test repository; the instance that got
    ``marker`` blocks until ``release`` exists."""
    _replace_model(model_dir, _HANG_MODEL.format(marker=marker, seconds=float(HANG_MAX_SECONDS), release=str(release)))


def inject_switched_hold(model_dir: Path, flag: Path, seconds: float) -> None:
    """``model_dir`` is an encoder folder (embedded target) of a test repository."""
    _replace_model(model_dir, _SWITCHED_HOLD_MODEL.format(flag=str(flag), seconds=float(seconds)))


def inject_hold(model_dir: Path, seconds: float) -> None:
    """``model_dir`` is the postprocess folder of a test repository."""
    _replace_model(model_dir, _HOLD_MODEL.format(seconds=float(seconds)))


class Switches:
    """The files the session repository's test-only models watch (one folder per session)."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.hang_release = root / "release-hang"
        self.encoder_hold = root / "hold-encoder"

    def arm_hang(self) -> None:
        """The next request with ``HANG_TEXT`` blocks its instance until ``release_hang``."""
        self.hang_release.unlink(missing_ok=True)

    def release_hang(self) -> None:
        self.hang_release.touch()

    @contextlib.contextmanager
    def holding_encoder(self) -> Iterator[None]:
        """While inside, the held encoder takes ``ENCODER_HOLD_SECONDS`` more per execution."""
        self.encoder_hold.touch()
        try:
            yield
        finally:
            self.encoder_hold.unlink(missing_ok=True)
