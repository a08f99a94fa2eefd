"""Installed TrueType fonts, split into training and held-out sets by whole font file."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mmtriton.errors import DataGenerationError

FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".fonts")
# Fonts without Latin digits (symbols, maths) would render boxes, not digits.
_EXCLUDE = ("Math", "Symbol", "Emoji", "opens___", "Dingbat")
HELD_OUT_FRACTION = 0.25


def has_digits(path: Path) -> bool:
    """Whether the font draws the digits: an icon font draws them as its missing-glyph box,
    which would be a wrong label on every image it renders."""
    from PIL import ImageFont

    try:
        face = ImageFont.truetype(str(path), 32)
        drawn = lambda text: bytes(face.getmask(text))  # noqa: E731
        missing = drawn("\U0010fffd")
        return all(drawn(d) != missing for d in "0123456789")
    except OSError:
        return False


def installed_fonts() -> list[Path]:
    """Every .ttf/.otf under the usual font folders that draws the digits, sorted for determinism."""
    found: set[Path] = set()
    for d in FONT_DIRS:
        if d.is_dir():
            found.update(p for p in d.rglob("*") if p.suffix.lower() in (".ttf", ".otf"))
    return sorted(p for p in found if not any(x in p.name for x in _EXCLUDE) and has_digits(p))


def _bucket(path: Path) -> float:
    """A stable number in [0, 1) per font file name, independent of install order."""
    digest = hashlib.sha256(path.name.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_fonts(fonts: list[Path] | None = None) -> tuple[list[Path], list[Path]]:
    """(train fonts, held-out fonts); held-out fonts never appear in training or validation."""
    fonts = installed_fonts() if fonts is None else fonts
    if len(fonts) < 8:
        raise DataGenerationError(
            f"found {len(fonts)} fonts under {', '.join(map(str, FONT_DIRS))}; need at least 8 "
            "(install fonts-dejavu-core fonts-liberation2 fonts-freefont-ttf)")
    held = [f for f in fonts if _bucket(f) < HELD_OUT_FRACTION]
    train = [f for f in fonts if _bucket(f) >= HELD_OUT_FRACTION]
    if not held or not train:
        raise DataGenerationError("font split left one side empty")
    return train, held
