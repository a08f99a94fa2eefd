"""Triton Python model `audio_encoder`: log-mel -> audio embedding (ONNX Runtime, ragged batches padded here).

The logic lives in `mmtriton.serving.models.OnnxModel` (tested there); this file only names it.
"""

from mmtriton.serving.models import OnnxModel as TritonPythonModel  # noqa: F401
