"""Triton Python model `text_preprocess`: UTF-8 text -> token ids + attention mask (tokenizers).

The logic lives in `mmtriton.serving.models.TextPreprocess` (tested there); this file only names it.
"""

from mmtriton.serving.models import TextPreprocess as TritonPythonModel  # noqa: F401
