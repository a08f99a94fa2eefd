"""Triton Python model `postprocess`: probabilities -> label; fails the request with the input
error a preprocessing model reported, once every step is done.

The logic lives in `mmtriton.serving.models.Postprocess` (tested there); this file only names it.
"""

from mmtriton.serving.models import Postprocess as TritonPythonModel  # noqa: F401
