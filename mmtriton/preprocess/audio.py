"""Audio bytes -> mono float32 at the spec's rate -> log-mel frames [T, n_mels].

Long recordings (up to ``max_input_seconds``) are cut to the model's window (``max_seconds``):
silence is trimmed at both ends, then the loudest window is kept (``select_window``). Recordings
that fit the window are used as they are, which is what the model was trained on. A recording
quieter than any level training drew is raised to the quietest one (``lift_quiet``).

Decoding uses libsndfile (WAV/FLAC/OGG/MP3) through soundfile and resampling uses soxr. The mel
filter bank is librosa's, built once per ``LogMel``; the STFT itself is plain numpy so serving
never waits for numba to compile librosa's kernels.
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np

from mmtriton.errors import InvalidInputError, public_message
from mmtriton.spec.presets import AudioConfig

LOG_FLOOR = 1e-6
_MAX_CHANNELS = 8


def _check_header(data: bytes, cfg: AudioConfig):
    """The file's header (soundfile ``_SoundFileInfo``), refused before any decoding work."""
    import soundfile as sf

    try:
        info = sf.info(io.BytesIO(data))
    except (RuntimeError, sf.LibsndfileError, TypeError, ValueError) as e:
        raise InvalidInputError(f"not a decodable audio file (WAV, FLAC, OGG, MP3): {public_message(e)}") from e
    if info.samplerate < 1000 or info.channels < 1 or info.channels > _MAX_CHANNELS:
        raise InvalidInputError(f"unsupported audio: {info.samplerate} Hz, {info.channels} channels")
    seconds = info.frames / info.samplerate
    if seconds > cfg.max_input_seconds:
        raise InvalidInputError(f"audio is {seconds:.2f} s long; the limit is {cfg.max_input_seconds:g} s")
    if seconds < cfg.min_seconds:
        raise InvalidInputError(f"audio is {seconds:.3f} s long; the minimum is {cfg.min_seconds:g} s")
    return info


def decode_audio(data: bytes, cfg: AudioConfig) -> np.ndarray:
    """Encoded audio -> mono float32 samples at ``cfg.sample_rate``; header checked first."""
    import soundfile as sf
    import soxr

    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"audio must be bytes, got {type(data).__name__}")
    if len(data) == 0:
        raise InvalidInputError("audio is empty (0 bytes)")
    if len(data) > cfg.max_bytes:
        raise InvalidInputError(f"audio is {len(data)} bytes; the limit is {cfg.max_bytes}")
    data = bytes(data)
    info = _check_header(data, cfg)
    # 16-bit PCM: libsndfile's int16 read + one scale is 8x faster than its float conversion
    # and gives the same values (it divides by 32768 too).
    pcm16 = info.subtype == "PCM_16"
    try:
        samples, rate = sf.read(io.BytesIO(data), dtype="int16" if pcm16 else "float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, ValueError) as e:
        raise InvalidInputError(f"audio could not be decoded (truncated or corrupt?): {public_message(e)}") from e
    mono = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1, dtype=np.float32)
    mono = mono.astype(np.float32) * np.float32(1 / 32768) if pcm16 else mono
    return _finish(mono, rate, cfg, soxr)


def _finish(mono: np.ndarray, rate: int, cfg: AudioConfig, soxr) -> np.ndarray:
    if not np.all(np.isfinite(mono)):
        raise InvalidInputError("audio contains NaN or infinite samples")
    if rate != cfg.sample_rate:
        mono = soxr.resample(mono, rate, cfg.sample_rate, quality="HQ").astype(np.float32, copy=False)
    if mono.shape[0] > cfg.max_input_seconds * cfg.sample_rate * 1.01:
        raise InvalidInputError(f"audio decodes to more than {cfg.max_input_seconds:g} s (header was wrong)")
    if mono.shape[0] < cfg.min_seconds * cfg.sample_rate:
        raise InvalidInputError(f"audio decodes to less than {cfg.min_seconds:g} s")
    return np.ascontiguousarray(select_window(mono, cfg), dtype=np.float32)


def _block_energy(mono: np.ndarray, hop: int) -> np.ndarray:
    """Sum of squares per ``hop`` samples (the last, partial block zero padded)."""
    blocks = -(-mono.shape[0] // hop)
    padded = np.zeros(blocks * hop, np.float32)
    padded[: mono.shape[0]] = mono
    return np.square(padded.reshape(blocks, hop), dtype=np.float32).sum(axis=1, dtype=np.float64)


def trim_silence(mono: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """Drop the leading and trailing blocks quieter than the loudest block by ``silence_db``."""
    hop = cfg.hop_length
    energy = _block_energy(mono, hop)
    loud = np.flatnonzero(energy > energy.max() * 10.0 ** (-cfg.silence_db / 10.0))
    if loud.size == 0:  # digital silence: nothing to trim to
        return mono
    return mono[loud[0] * hop: (loud[-1] + 1) * hop]


def select_window(mono: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """A recording longer than the model's window -> the window it is classified by.

    People record with silence around the word: trimming comes first, then, if the voiced part
    is still longer, the window (aligned to the STFT hop) with the most energy. Deterministic,
    so the server, training, offline evaluation and the SDK's local mode pick the same samples."""
    window = int(round(cfg.max_seconds * cfg.sample_rate))
    if mono.shape[0] <= window:
        return mono
    voiced = trim_silence(mono, cfg)
    if voiced.shape[0] >= cfg.min_seconds * cfg.sample_rate:
        mono = voiced
    if mono.shape[0] <= window:
        return mono
    hop = cfg.hop_length
    blocks = window // hop
    energy = np.concatenate(([0.0], np.cumsum(_block_energy(mono, hop))))
    start = int(np.argmax(energy[blocks:] - energy[:-blocks])) * hop
    return mono[start: start + blocks * hop]


class LogMel:
    """Log-mel spectrogram with librosa's filter bank and a centred, reflect-padded numpy STFT."""

    def __init__(self, cfg: AudioConfig) -> None:
        import librosa
        import scipy.fft
        import scipy.signal

        self.cfg = cfg
        self.mel_basis = librosa.filters.mel(
            sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax
        ).astype(np.float32)
        self.window = scipy.signal.get_window("hann", cfg.n_fft, fftbins=True).astype(np.float32)
        self._rfft = scipy.fft.rfft  # single precision (numpy's rfft computes in float64: 2.4x slower)

    def power_spectrogram(self, samples: np.ndarray) -> np.ndarray:
        """|STFT|^2 as [T, n_fft // 2 + 1], matching librosa.stft(center=True, pad_mode='reflect')."""
        pad = self.cfg.n_fft // 2
        padded = np.pad(samples, (pad, pad), mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(padded, self.cfg.n_fft)[:: self.cfg.hop_length]
        spec = self._rfft(frames * self.window, axis=-1, workers=1)  # float32 in, complex64 out
        return (spec.real ** 2 + spec.imag ** 2).astype(np.float32, copy=False)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        """Mono samples at the spec's rate -> float32 [T, n_mels] natural-log mel energies."""
        mel = self.power_spectrogram(samples) @ self.mel_basis.T
        return np.log(mel + LOG_FLOOR).astype(np.float32)


def pad_frames(features: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack [T_i, n_mels] arrays into [N, max T, n_mels] (zero padded) and int32 lengths [N, 1]."""
    if len(features) == 0:
        raise InvalidInputError("no audio features to batch")
    n_mels = features[0].shape[1]
    longest = max(f.shape[0] for f in features)
    batch = np.zeros((len(features), longest, n_mels), dtype=np.float32)
    for i, f in enumerate(features):
        batch[i, : f.shape[0]] = f
    lengths = np.asarray([[f.shape[0]] for f in features], dtype=np.int32)
    return batch, lengths


def lift_quiet(mono: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """A recording whose peak is under ``cfg.quiet_peak_db`` dBFS, raised to that peak; any
    other returned as it is.

    The log-mel frames keep the absolute level, and training's channel draws recording levels
    down to -35 dBFS (``data.channel.level``): a word said softly or far from the microphone
    fell below what the model had heard (the five real speakers at a -50 dBFS peak: 0.90
    audio-only, ``benchmarks/speech_formats.py``). Raising only those is what a listener does
    with the volume knob; every level training covers is left as it was."""
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    floor = 10.0 ** (cfg.quiet_peak_db / 20.0)
    if peak == 0.0 or peak >= floor:
        return mono
    return mono * np.float32(floor / peak)


def preprocess_audio(data: bytes, cfg: AudioConfig, log_mel: LogMel) -> np.ndarray:
    """Encoded audio bytes -> float32 [T, n_mels]; raises InvalidInputError on bad input."""
    return log_mel(lift_quiet(decode_audio(data, cfg), cfg))
