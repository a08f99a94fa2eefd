"""Long recordings: silence trimmed, then the loudest window of the model's length (audio.py,
``select_window``), applied inside ``decode_audio`` so every caller gets the same samples."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from mmtriton.preprocess.audio import decode_audio, select_window, trim_silence
from mmtriton.spec.presets import get_preset

SR = 16_000


@pytest.fixture
def cfg():
    return get_preset("demo").audio


def _tone(seconds: float, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _quiet(seconds: float, seed: int = 0, amp: float = 1e-4) -> np.ndarray:
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


def _wav(samples: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, SR, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _window(cfg) -> int:
    return int(round(cfg.max_seconds * cfg.sample_rate))


def test_recordings_that_fit_the_window_are_not_touched(cfg):
    x = np.concatenate([_quiet(1.0), _tone(0.5), _quiet(1.4, seed=1)])
    assert len(x) <= _window(cfg)
    assert select_window(x, cfg) is x


def _offset(x: np.ndarray, y: np.ndarray) -> int:
    """Where the slice ``y`` starts in ``x`` (the noise makes every position unique)."""
    return next(int(i) for i in np.flatnonzero(x == y[0]) if np.array_equal(x[i: i + len(y)], y))


def test_a_word_inside_a_long_recording_is_found(cfg):
    """A 0.6 s word 17 s into a 30 s recording of room noise: the window holds the whole word."""
    word = _tone(0.6)
    x = np.concatenate([_quiet(17.0), word, _quiet(30.0 - 17.6, seed=1)])
    y = select_window(x, cfg)
    assert 0 < len(y) <= _window(cfg)
    start = _offset(x, y)
    assert start <= 17 * SR and start + len(y) >= 17 * SR + len(word)


def test_silence_is_trimmed_before_the_window_is_chosen(cfg):
    """Speech of 2 s surrounded by 10 s of silence each side: the result is the speech alone
    (trimmed to the STFT hop), not a 3 s window with a second of silence in it."""
    speech = _tone(2.0) * np.linspace(0.2, 1.0, 2 * SR, dtype=np.float32)
    x = np.concatenate([_quiet(10.0), speech, _quiet(10.0, seed=1)])
    y = select_window(x, cfg)
    assert 2.0 * SR <= len(y) <= 2.0 * SR + 2 * cfg.hop_length
    assert len(trim_silence(x, cfg)) == len(y)


def test_the_loudest_window_wins_when_the_voiced_part_is_longer(cfg):
    loud, soft = _tone(1.0, amp=0.8), _tone(4.0, amp=0.05)
    x = np.concatenate([soft, loud, soft])
    y = select_window(x, cfg)
    assert len(y) == _window(cfg) // cfg.hop_length * cfg.hop_length
    assert np.abs(y).max() == pytest.approx(0.8, abs=1e-3)  # the loud second is inside


def test_digital_silence_still_gives_a_window(cfg):
    y = select_window(np.zeros(20 * SR, np.float32), cfg)
    assert 0 < len(y) <= _window(cfg)


def test_the_choice_is_deterministic_and_the_same_through_decode_audio(cfg):
    x = np.concatenate([_quiet(8.0), _tone(0.8, freq=300.0), _quiet(6.0, seed=2), _tone(0.3, amp=0.2)])
    data = _wav(x)
    a, b = decode_audio(data, cfg), decode_audio(data, cfg)
    assert np.array_equal(a, b)
    pcm = sf.read(io.BytesIO(data), dtype="int16")[0].astype(np.float32) / 32768
    assert np.array_equal(a, select_window(pcm, cfg))
    assert len(a) <= _window(cfg)
