"""The spec and preprocessing stay light: importing or using them never loads a heavy framework.

Each check runs in a fresh interpreter, because this test session has long since imported torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

HEAVY = ("torch", "onnxruntime", "tensorrt", "onnx", "transformers")


def _heavy_modules_after(code: str) -> list[str]:
    script = textwrap.dedent(code) + textwrap.dedent(f"""
        import json, sys
        print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_importing_the_core_loads_no_heavy_framework():
    assert _heavy_modules_after("import mmtriton, mmtriton.spec, mmtriton.preprocess, mmtriton.errors") == []


def test_building_the_graph_and_preprocessing_loads_no_heavy_framework():
    code = """
        import io
        import numpy as np
        import soundfile as sf
        from PIL import Image
        from mmtriton.spec import get_graph
        from mmtriton.preprocess import Preprocessor, pad_frames

        g = get_graph("demo"), get_graph("production")
        p = Preprocessor(g[0])
        img = io.BytesIO(); Image.new("RGB", (64, 48), (1, 2, 3)).save(img, "PNG")
        wav = io.BytesIO(); sf.write(wav, np.zeros(8000, np.float32), 22050, format="WAV")
        p.image(img.getvalue())
        pad_frames([p.audio(wav.getvalue())])
        p.text(["a caption"])
    """
    assert _heavy_modules_after(code) == []


def test_the_probe_itself_sees_heavy_imports():
    """Guard against a probe that can never fail: it must report a module that was imported."""
    assert _heavy_modules_after("import json as onnx  # noqa\nimport sys; sys.modules['onnx'] = onnx") == ["onnx"]


def test_the_engine_package_and_the_server_side_check_load_no_heavy_framework():
    """`mmtriton check-engines` runs in the Triton image, which has no torch, onnx or tensorrt package."""
    code = """
        import mmtriton.engine.build, mmtriton.engine.verify, mmtriton.engine.manifest, mmtriton.engine.device
        import mmtriton.engine.parity, mmtriton.repository.structure, mmtriton.cli
    """
    assert _heavy_modules_after(code) == []
