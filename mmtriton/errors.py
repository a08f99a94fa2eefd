"""The project's exception tree; boundaries (CLI, Triton backends, client) convert from it."""

import re

# Library error texts can carry object reprs with memory addresses or file-system paths; what
# reaches a client must not (CVE-2025-23320 leaked shared-memory names the same way).
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-fA-F]+>")
_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)+[\w.@+-]*")


def public_message(error: BaseException) -> str:
    """``str(error)`` without object addresses or absolute paths, for messages sent to clients."""
    return _PATH.sub("<path>", _OBJECT_REPR.sub("the input", str(error)))


class MMTritonError(Exception):
    """Base class of every error this project raises on purpose."""


class SpecError(MMTritonError):
    """The model spec is inconsistent (duplicate names, bad dims, profiles out of order)."""


class InvalidInputError(MMTritonError):
    """A user-supplied input (image, audio, text, tensor) cannot be processed; the message says why."""


class DataGenerationError(MMTritonError):
    """The reference data set could not be generated (missing fonts, espeak-ng failure)."""


class DatasetError(MMTritonError):
    """A user's data set folder has problems; ``problems`` lists each with its row and reason."""

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class CheckpointError(MMTritonError):
    """A checkpoint is missing, unreadable or was trained with an incompatible spec."""


class ExportError(MMTritonError):
    """Export to ONNX failed or produced an invalid model."""


class ParityError(ExportError):
    """An exported model disagrees with PyTorch by more than the allowed tolerance."""

    def __init__(self, message: str, max_abs_diff: float) -> None:
        super().__init__(message)
        self.max_abs_diff = max_abs_diff


class RepositoryError(MMTritonError):
    """The model repository cannot be written (missing ONNX files, engines or tokenizer)."""


class ServerError(MMTritonError):
    """The embedded Triton server cannot start, is not ready in time, or a port is taken."""


class BenchError(MMTritonError):
    """A benchmark cannot run or measure: server unreachable, perf_analyzer failed or unstable."""


class EngineError(MMTritonError):
    """A TensorRT engine cannot be built, or was built for another GPU or TensorRT version."""


class DeployError(MMTritonError):
    """A deployment repository is inconsistent: a model, tensor name or dtype does not match the spec."""


class WorkflowError(MMTritonError):
    """A pipeline step was asked for something it cannot do (bad option, missing prerequisite)."""
