"""Triton Python model `audio_preprocess`: audio bytes -> log-mel frames (libsndfile, soxr, librosa mel bank).

The logic lives in `mmtriton.serving.models.AudioPreprocess` (tested there); this file only names it.
"""

from mmtriton.serving.models import AudioPreprocess as TritonPythonModel  # noqa: F401
