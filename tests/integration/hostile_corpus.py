"""The corpus of hostile and odd inputs, generated deterministically (no binary files in git).

Every case names its modality, the bytes sent, and either ``OK`` (must be served) or a
fragment of the INVALID_ARG message the server must answer with. Shared by the corpus test and
the soak-style RSS check; `python tests/integration/hostile_corpus.py DIR` writes the files out
for a look with other tools.
"""

from __future__ import annotations

import io
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import soundfile as sf
from PIL import Image

OK = ""


@dataclass(frozen=True)
class Case:
    name: str
    modality: str  # image, audio or text
    data: Union[bytes, str]
    expect: str = OK  # OK, or a fragment of the error message

    @property
    def valid(self) -> bool:
        return self.expect == OK


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG declaring width x height (10 G pixels) in a file of ~70 bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + _png_chunk(b"IEND", b""))


def _digit_image(size: tuple[int, int] = (64, 64), mode: str = "RGB") -> Image.Image:
    rng = np.random.default_rng(1)
    rgb = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    return rgb.convert(mode)


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _exif_rotated() -> bytes:
    img = _digit_image((80, 40))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise when displayed
    return _save(img, "JPEG", exif=exif.tobytes())


def _sixteen_bit_png() -> bytes:
    arr = (np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)
    img = Image.fromarray(arr)  # mode I;16
    assert img.mode == "I;16", img.mode
    return _save(img, "PNG")


def _palette_with_transparency() -> bytes:
    img = _digit_image().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return _save(img, "PNG", transparency=0)


def image_cases() -> list[Case]:
    jpeg = _save(_digit_image(), "JPEG", quality=90)
    wav = tone(1.0, 16000)
    return [
        Case("cmyk-jpeg", "image", _save(_digit_image(mode="CMYK"), "JPEG")),
        Case("progressive-jpeg", "image", _save(_digit_image(), "JPEG", progressive=True)),
        Case("16-bit-png", "image", _sixteen_bit_png()),
        Case("palette-png-transparency", "image", _palette_with_transparency()),
        Case("rgba-png", "image", _save(_digit_image(mode="RGBA"), "PNG")),
        Case("exif-rotated-jpeg", "image", _exif_rotated()),
        Case("1x1-png", "image", _save(_digit_image((1, 1)), "PNG")),
        Case("4000x10-png", "image", _save(_digit_image((4000, 10)), "PNG")),
        Case("grayscale-gif", "image", _save(_digit_image(mode="L"), "GIF")),
        Case("decompression-bomb-png", "image", bomb_png(), "pixels"),
        Case("truncated-jpeg", "image", jpeg[: len(jpeg) // 2], "image"),
        Case("empty-image", "image", b"", "image is empty"),
        Case("random-bytes-image", "image", np.random.default_rng(2).bytes(4096), "not a decodable image"),
        Case("wav-sent-as-image", "image", wav, "not a decodable image"),
    ]


def tone(seconds: float, rate: int, channels: int = 1, amplitude: float = 0.3) -> bytes:
    return encode_audio(seconds, rate, "WAV", "PCM_16", channels, amplitude)


def encode_audio(seconds: float, rate: int, fmt: str, subtype: str, channels: int = 1, amplitude: float = 0.3) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    wave = (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    data = np.stack([wave] * channels, axis=1) if channels > 1 else wave
    buf = io.BytesIO()
    sf.write(buf, data, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def lying_wav(actual_s: float, claimed_s: float, rate: int = 16000) -> bytes:
    """A 16-bit WAV whose RIFF/data sizes claim ``claimed_s`` seconds while carrying ``actual_s``."""
    wav = bytearray(tone(actual_s, rate))
    data_at = wav.index(b"data")
    claimed = int(claimed_s * rate) * 2
    wav[data_at + 4: data_at + 8] = struct.pack("<I", claimed)
    wav[4:8] = struct.pack("<I", claimed + data_at)
    return bytes(wav)


def audio_cases(max_input_seconds: float) -> list[Case]:
    flac = encode_audio(1.0, 16000, "FLAC", "PCM_16")
    return [
        Case("wav-pcm-u8", "audio", encode_audio(1.0, 16000, "WAV", "PCM_U8")),
        Case("wav-pcm-16", "audio", encode_audio(1.0, 16000, "WAV", "PCM_16")),
        Case("wav-pcm-24", "audio", encode_audio(1.0, 16000, "WAV", "PCM_24")),
        Case("wav-pcm-32", "audio", encode_audio(1.0, 16000, "WAV", "PCM_32")),
        Case("wav-float", "audio", encode_audio(1.0, 16000, "WAV", "FLOAT")),
        Case("wav-stereo", "audio", tone(1.0, 16000, channels=2)),
        *(Case(f"wav-{rate}hz", "audio", tone(1.0, rate)) for rate in (8000, 22050, 44100, 48000)),
        Case("flac", "audio", flac),
        Case("ogg-vorbis", "audio", encode_audio(1.0, 22050, "OGG", "VORBIS")),
        Case("mp3", "audio", encode_audio(1.0, 44100, "MP3", "MPEG_LAYER_III")),
        Case("silence", "audio", tone(1.0, 16000, amplitude=0.0)),
        Case("header-claims-less", "audio", lying_wav(actual_s=2.0, claimed_s=1.0)),
        # libsndfile clamps a data size beyond the end of the file to what is there: served as 1 s
        Case("header-claims-more-than-present", "audio", lying_wav(actual_s=1.0, claimed_s=max_input_seconds * 10)),
        Case("20ms-clip", "audio", tone(0.02, 16000), "the minimum is"),
        Case("30s-clip", "audio", tone(30.0, 8000)),  # long recordings are cut to the model's window
        Case("over-the-length-cap", "audio", tone(max_input_seconds + 1, 8000), "the limit is"),
        Case("truncated-flac", "audio", flac[: len(flac) // 3], "audio"),
        Case("empty-audio", "audio", b"", "audio is empty"),
        Case("random-bytes-audio", "audio", np.random.default_rng(3).bytes(4096), "not a decodable audio"),
        Case("png-sent-as-audio", "audio", _save(_digit_image(), "PNG"), "not a decodable audio"),
    ]


def text_cases(max_chars: int) -> list[Case]:
    return [
        Case("cjk", "text", "数字七写在卡片上"),
        Case("emoji", "text", "the digit 7 \U0001F600\U0001F44D on a card"),
        Case("10k-characters", "text", ("seven " * max_chars)[:max_chars]),
        Case("one-character", "text", "7"),
        Case("empty-text", "text", "", "text is empty"),
        Case("whitespace-text", "text", " \t\n\u3000", "text is empty"),
        Case("over-character-limit", "text", "x" * (max_chars + 1), "characters; the limit is"),
        Case("invalid-utf8", "text", b"the digit \xff\xfe seven", "not valid UTF-8"),
    ]


def corpus(graph) -> list[Case]:
    p = graph.preset
    return image_cases() + audio_cases(p.audio.max_input_seconds) + text_cases(p.text.max_chars)


def main(out: Path) -> None:
    from mmtriton.spec import get_graph

    out.mkdir(parents=True, exist_ok=True)
    for case in corpus(get_graph("demo")):
        data = case.data.encode("utf-8") if isinstance(case.data, str) else case.data
        (out / f"{case.modality}-{case.name}.bin").write_bytes(data)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
