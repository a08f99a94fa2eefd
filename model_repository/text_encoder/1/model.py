"""Triton Python model `text_encoder`: token ids -> text embedding (ONNX Runtime, ragged batches padded here).

The logic lives in `mmtriton.serving.models.OnnxModel` (tested there); this file only names it.
"""

from mmtriton.serving.models import OnnxModel as TritonPythonModel  # noqa: F401
