"""Preprocessing constants and the two size presets (CPU demo/CI and production GPU shapes)."""

from __future__ import annotations

from dataclasses import dataclass

from mmtriton.errors import SpecError

CLASS_NAMES: tuple[str, ...] = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# EfficientNet-Lite was trained on (x - 127) / 128 in 0..255 units; keep the pretrained tower happy.
LITE_MEAN = (127.0 / 255.0,) * 3
LITE_STD = (128.0 / 255.0,) * 3


@dataclass(frozen=True)
class ImageConfig:
    size: int
    mean: tuple[float, float, float] = LITE_MEAN
    std: tuple[float, float, float] = LITE_STD
    max_pixels: int = 40_000_000
    max_bytes: int = 20 * 1024 * 1024


@dataclass(frozen=True)
class AudioConfig:
    sample_rate: int = 16_000
    n_fft: int = 400
    hop_length: int = 160
    n_mels: int = 64
    fmin: float = 20.0
    fmax: float = 8_000.0
    min_seconds: float = 0.1
    max_seconds: float = 3.0          # the model's window: longer recordings are cut to it
    max_input_seconds: float = 60.0   # accepted recording length (refused above, before decoding)
    silence_db: float = 40.0          # trimmed at both ends of a long recording: below peak - this
    quiet_peak_db: float = -30.0      # a recording peaking under this (dBFS) is raised to it
    max_bytes: int = 20 * 1024 * 1024
    # Length buckets (seconds, the last one max_seconds): on the tensorrt target log-mel frames
    # are padded up to one of these so that Triton's batcher, which batches equal shapes only
    # and ends a batch at the first request of another shape, can batch recordings of different
    # lengths. Few buckets, placed by the length distribution: spoken digits run 0.5-1.9 s (90 %
    # under 1.5 s in the generated test split), so nearly every request shares the first one.
    # Masking keeps the embedding unchanged (tests/integration/test_length_buckets.py).
    bucket_seconds: tuple[float, ...] = (1.5, 3.0)

    def frames(self, seconds: float) -> int:
        """Frames of a centred STFT over ``seconds`` of audio at the target rate."""
        return 1 + int(round(seconds * self.sample_rate)) // self.hop_length


@dataclass(frozen=True)
class TextConfig:
    max_tokens: int = 32       # longer captions are truncated (the model sees this many tokens)
    max_chars: int = 10_000    # longer ones are refused before tokenising
    max_bytes: int = 40_000    # UTF-8 bytes, checked before decoding (4 bytes per character at most)
    # token buckets (the last one max_tokens); the reference captions run 4-26 tokens, 95 % within 16
    buckets: tuple[int, ...] = (16, 32)


@dataclass(frozen=True)
class Preset:
    """Everything size-dependent: input shapes, embedding widths, batch limits."""

    name: str
    image: ImageConfig
    audio: AudioConfig
    text: TextConfig
    embed_dim: int
    fused_dim: int
    max_batch_size: int
    opt_batch_size: int

    def __post_init__(self) -> None:
        if self.image.size < 32:
            raise SpecError(f"preset {self.name!r}: image size {self.image.size} is below 32 px")
        a = self.audio
        if not a.min_seconds < a.max_seconds <= a.max_input_seconds:
            raise SpecError(f"preset {self.name!r}: audio needs min_seconds < max_seconds <= max_input_seconds")
        if a.max_seconds * a.sample_rate < a.hop_length:
            raise SpecError(f"preset {self.name!r}: the audio window must hold at least one hop")
        if not -90.0 <= a.quiet_peak_db <= 0.0:
            raise SpecError(f"preset {self.name!r}: quiet_peak_db {a.quiet_peak_db} must lie in -90..0 dBFS")
        if self.text.max_tokens < 4:
            raise SpecError(f"preset {self.name!r}: max_tokens must be >= 4")
        if not a.bucket_seconds or a.bucket_seconds[-1] != a.max_seconds:
            raise SpecError(f"preset {self.name!r}: audio buckets {a.bucket_seconds} must end at max_seconds")
        if not self.text.buckets or self.text.buckets[-1] != self.text.max_tokens:
            raise SpecError(f"preset {self.name!r}: text buckets {self.text.buckets} must end at max_tokens")


DEMO = Preset(
    name="demo",
    image=ImageConfig(size=96),
    audio=AudioConfig(max_seconds=3.0),
    text=TextConfig(max_tokens=32),
    embed_dim=128,
    fused_dim=128,
    max_batch_size=32,
    opt_batch_size=8,
)

PRODUCTION = Preset(
    name="production",
    image=ImageConfig(size=224),
    audio=AudioConfig(max_seconds=10.0, bucket_seconds=(2.5, 5.0, 10.0)),
    text=TextConfig(max_tokens=128, buckets=(16, 32, 64, 128)),
    embed_dim=256,
    fused_dim=256,
    max_batch_size=64,
    opt_batch_size=16,
)

PRESETS: dict[str, Preset] = {p.name: p for p in (DEMO, PRODUCTION)}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise SpecError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}") from None
