"""Triton Python model `image_preprocess`: image bytes -> normalised pixels (Pillow).

The logic lives in `mmtriton.serving.models.ImagePreprocess` (tested there); this file only names it.
"""

from mmtriton.serving.models import ImagePreprocess as TritonPythonModel  # noqa: F401
