"""Triton Python model `image_encoder`: pixels -> image embedding (ONNX Runtime).

The logic lives in `mmtriton.serving.models.OnnxModel` (tested there); this file only names it.
"""

from mmtriton.serving.models import OnnxModel as TritonPythonModel  # noqa: F401
