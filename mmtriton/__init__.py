"""triton-multimodal core: spec, preprocessing, training and export for a multimodal model on Triton.

Importing this package is cheap: torch, onnxruntime and tensorrt are imported lazily by the
modules that need them, so the Triton Python backends and the client can use the spec and the
preprocessing library without them.
"""

__version__ = "0.1.0"
