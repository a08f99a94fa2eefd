"""Audio preprocessing: decoding every container, mono mix, resampling, log-mel, padding, bad input.

Signals are numpy sines and noise written with soundfile; the log-mel reference is librosa's own
melspectrogram, not the numpy STFT under test.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import soundfile as sf

from mmtriton.errors import InvalidInputError
from mmtriton.preprocess.audio import decode_audio, pad_frames, preprocess_audio

SR = 16_000
LOG_FLOOR = 1e-6  # the contract: natural log of (mel power + 1e-6), as the model was trained


@pytest.fixture(scope="module")
def cfg(graph):
    return graph.preset.audio


@pytest.fixture(scope="module")
def log_mel(preprocessor):
    return preprocessor.log_mel


def sine(freq: float, seconds: float, rate: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode(samples: np.ndarray, rate: int = SR, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, samples, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def dominant_hz(x: np.ndarray, rate: int = SR) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


# ---- containers and sample formats --------------------------------------------------------------

# (format, subtype, max abs error vs the float source): quantisation step of each PCM width.
LOSSLESS = [
    ("WAV", "PCM_U8", 1 / 128),
    ("WAV", "PCM_16", 1 / 2 ** 15),
    ("WAV", "PCM_24", 1 / 2 ** 23),
    ("WAV", "PCM_32", 1 / 2 ** 31),
    ("WAV", "FLOAT", 0.0),
    ("FLAC", "PCM_16", 1 / 2 ** 15),
]


@pytest.mark.parametrize("fmt,subtype,tol", LOSSLESS, ids=[f"{f}-{s}" for f, s, _ in LOSSLESS])
def test_lossless_formats_decode_to_the_source_samples(fmt, subtype, tol, cfg):
    x = sine(440, 0.5)
    data = encode(x, fmt=fmt, subtype=subtype)
    assert sf.info(io.BytesIO(data)).subtype == subtype
    y = decode_audio(data, cfg)
    assert y.dtype == np.float32 and y.ndim == 1
    assert y.shape == x.shape
    np.testing.assert_allclose(y, x, rtol=0, atol=tol + 1e-7)


def _lossy(fmt: str, subtype: str, x: np.ndarray) -> bytes:
    try:
        return encode(x, fmt=fmt, subtype=subtype)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        pytest.skip(f"libsndfile {sf.__libsndfile_version__} cannot write {fmt}/{subtype}: {e}")


@pytest.mark.parametrize("fmt,subtype", [("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III")], ids=["ogg", "mp3"])
def test_lossy_formats_decode_to_the_same_tone(fmt, subtype, cfg):
    x = sine(440, 0.5)
    y = decode_audio(_lossy(fmt, subtype, x), cfg)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - len(x)) <= 0.02 * len(x)  # encoder delay/padding at most a few ms
    assert abs(dominant_hz(y) - 440) <= 2 * SR / len(y)
    n = min(len(x), len(y))
    assert np.corrcoef(x[:n], y[:n])[0, 1] > 0.95  # aligned, not just the same pitch


def test_stereo_is_averaged_to_mono(cfg):
    left, right = sine(440, 0.5), np.full(int(0.5 * SR), 0.25, dtype=np.float32)
    y = decode_audio(encode(np.stack([left, right], axis=1), subtype="FLOAT"), cfg)
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-7)


def test_opposite_channels_cancel(cfg):
    x = sine(300, 0.5)
    y = decode_audio(encode(np.stack([x, -x], axis=1), subtype="FLOAT"), cfg)
    assert np.abs(y).max() < 1e-7


@pytest.mark.parametrize("rate,n", [(44_100, 44_100), (44_100, 30_000), (8_000, 8_000), (48_000, 33_333)])
def test_resampling_to_the_spec_rate(rate, n, cfg):
    x = (0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float32)
    y = decode_audio(encode(x, rate, subtype="FLOAT"), cfg)
    assert y.dtype == np.float32
    assert abs(len(y) - n * cfg.sample_rate / rate) <= 1
    assert abs(dominant_hz(y, cfg.sample_rate) - 440) <= cfg.sample_rate / len(y) + 1e-9
    assert 0.45 < np.abs(y[len(y) // 4: -len(y) // 4]).max() < 0.55  # amplitude kept


def test_resampled_tone_above_the_new_nyquist_is_removed(cfg):
    """A 10 kHz tone at 44.1 kHz cannot exist at 16 kHz: an anti-aliasing resampler drops it."""
    x = (0.5 * np.sin(2 * np.pi * 10_000 * np.arange(44_100) / 44_100)).astype(np.float32)
    y = decode_audio(encode(x, 44_100, subtype="FLOAT"), cfg)
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) < 0.01  # aliasing would leave a 6 kHz tone at 0.35 RMS


def test_bytes_like_inputs_are_accepted(cfg):
    data = encode(sine(440, 0.3), subtype="PCM_16")
    for wrapped in (bytearray(data), memoryview(data)):
        np.testing.assert_array_equal(decode_audio(wrapped, cfg), decode_audio(data, cfg))


# ---- log-mel ------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1600, 16_000, 16_001, 47_999, 48_000])
def test_log_mel_shape_and_dtype(n, cfg, log_mel):
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 0.1
    m = log_mel(x)
    assert m.shape == (1 + n // cfg.hop_length, cfg.n_mels)
    assert m.dtype == np.float32


def test_log_mel_frames_fit_the_spec_profile(graph, cfg, log_mel):
    frames = graph.audio_encoder.inputs[0].dims[0]
    shortest = log_mel(np.zeros(int(cfg.min_seconds * cfg.sample_rate), np.float32))
    longest = log_mel(np.zeros(int(cfg.max_seconds * cfg.sample_rate), np.float32))
    assert shortest.shape[0] == frames.min
    assert longest.shape[0] == frames.max


def test_log_mel_of_silence_is_the_floor(log_mel):
    m = log_mel(np.zeros(4000, np.float32))
    np.testing.assert_allclose(m, np.log(LOG_FLOOR), rtol=1e-6)


def _librosa_log_mel(x: np.ndarray, cfg) -> np.ndarray:
    import librosa

    mel = librosa.feature.melspectrogram(
        y=x, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, n_mels=cfg.n_mels,
        fmin=cfg.fmin, fmax=cfg.fmax, power=2.0, center=True, pad_mode="reflect",
    )
    return mel.T


def _speech_like(seconds: float = 1.5) -> np.ndarray:
    """A gliding harmonic series in on/off bursts with true silence between them."""
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(120 + 30 * np.sin(2 * np.pi * 3 * t)) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 20))
    return (0.3 * voiced * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)


@pytest.mark.parametrize("signal", ["tone+noise", "speech-like"])
def test_log_mel_matches_librosa(signal, cfg, log_mel):
    rng = np.random.default_rng(0)
    if signal == "tone+noise":
        x = (sine(300, 1.0, amp=0.3) + 0.1 * rng.standard_normal(SR)).astype(np.float32)
    else:
        x = _speech_like()
    ours = log_mel(x)
    ref = _librosa_log_mel(x, cfg)
    assert ours.shape == ref.shape
    # Where a band holds real energy both sides are float32 FFTs of the same frames, so the relative
    # error in power (= absolute error in log units) is a few float32 epsilons; measured ~1e-6.
    loud = ref > 1e-3
    assert loud.mean() > 0.25
    np.testing.assert_allclose(ours[loud], np.log(ref[loud] + LOG_FLOOR), rtol=0, atol=1e-4)
    # Near-silent bands: float32 cancellation makes the relative error large, so only a loose bound.
    np.testing.assert_allclose(ours, np.log(ref + LOG_FLOOR), rtol=0, atol=5e-2)


def test_power_spectrogram_matches_librosa_stft(cfg, log_mel):
    import librosa

    x = (sine(1000, 0.5) + sine(3000, 0.5, amp=0.2)).astype(np.float32)
    ref = np.abs(librosa.stft(x, n_fft=cfg.n_fft, hop_length=cfg.hop_length, window="hann",
                              center=True, pad_mode="reflect")) ** 2
    ours = log_mel.power_spectrogram(x)
    assert ours.shape == ref.T.shape == (1 + len(x) // cfg.hop_length, cfg.n_fft // 2 + 1)
    np.testing.assert_allclose(ours, ref.T, rtol=1e-3, atol=1e-3 * ref.max())


def test_log_mel_peak_is_in_the_band_of_the_tone(cfg, log_mel):
    import librosa

    centres = librosa.mel_frequencies(n_mels=cfg.n_mels + 2, fmin=cfg.fmin, fmax=cfg.fmax)[1:-1]
    for freq in (250.0, 1000.0, 4000.0):
        band = log_mel(sine(freq, 0.5))[5:-5].mean(axis=0).argmax()
        assert abs(centres[band] - freq) < 0.1 * freq + 50, (freq, centres[band])


def test_preprocess_audio_end_to_end(preprocessor, graph, cfg):
    x = sine(440, 1.0, rate=22_050)
    feats = preprocessor.audio(encode(x, 22_050, subtype="PCM_16"))
    log_mel_spec = graph.audio_encoder.inputs[0]
    assert feats.dtype == log_mel_spec.dtype.numpy
    assert feats.shape == (1 + cfg.sample_rate // cfg.hop_length, log_mel_spec.dims[1])
    decoded = decode_audio(encode(x, 22_050, subtype="PCM_16"), cfg)
    np.testing.assert_array_equal(feats, preprocess_audio(encode(x, 22_050, subtype="PCM_16"), cfg,
                                                          preprocessor.log_mel))
    np.testing.assert_allclose(feats, np.log(_librosa_log_mel(decoded, cfg) + LOG_FLOOR), atol=5e-2)


# ---- level --------------------------------------------------------------------------------------

def _dbfs(db: float) -> float:
    return 10.0 ** (db / 20.0)


def test_a_recording_quieter_than_training_heard_is_heard_at_the_quietest_level(preprocessor, cfg):
    """A word at -50 or -65 dBFS gives the frames of the same word at ``quiet_peak_db``: float WAV,
    so no quantisation noise tells them apart."""
    x = sine(440, 0.8) + sine(1200, 0.8, amp=0.2)
    at = {db: preprocessor.audio(encode(x / np.abs(x).max() * _dbfs(db), subtype="FLOAT"))
          for db in (cfg.quiet_peak_db, -50.0, -65.0)}
    for db in (-50.0, -65.0):
        np.testing.assert_allclose(at[db], at[cfg.quiet_peak_db], rtol=0, atol=1e-4)
    silent = preprocessor.audio(encode(np.zeros(8000, np.float32), subtype="FLOAT"))
    np.testing.assert_allclose(silent, np.log(LOG_FLOOR), rtol=1e-6)  # nothing to raise


@pytest.mark.parametrize("db", [-29.0, -12.0, -1.0])
def test_levels_training_covers_are_left_alone(preprocessor, cfg, db):
    """At or above ``quiet_peak_db`` the frames are those of the decoded samples as they are."""
    data = encode(sine(440, 0.8, amp=_dbfs(db)), subtype="FLOAT")
    np.testing.assert_array_equal(preprocessor.audio(data), preprocessor.log_mel(decode_audio(data, cfg)))


def test_the_level_is_kept_not_normalised(preprocessor):
    """-1 and -21 dBFS: 20 dB more power (a factor 100) in every cell within 40 dB of the loudest."""
    loud, quiet = (preprocessor.audio(encode(sine(440, 0.8, amp=_dbfs(db)), subtype="FLOAT")) for db in (-1.0, -21.0))
    cells = loud > loud.max() - np.log(1e4)
    assert cells.sum() > 100
    np.testing.assert_allclose((loud - quiet)[cells], np.log(100.0), atol=1e-2)  # the 1e-6 floor adds a little


def test_a_preset_refuses_a_quiet_peak_above_full_scale(graph):
    from mmtriton.errors import SpecError

    audio = dataclasses.replace(graph.preset.audio, quiet_peak_db=3.0)
    with pytest.raises(SpecError, match="quiet_peak_db"):
        dataclasses.replace(graph.preset, audio=audio)


# ---- batching -----------------------------------------------------------------------------------


def test_pad_frames_zero_pads_and_returns_int32_lengths():
    rng = np.random.default_rng(1)
    feats = [rng.standard_normal((t, 8)).astype(np.float32) for t in (5, 2, 7)]
    batch, lengths = pad_frames(feats)
    assert batch.shape == (3, 7, 8) and batch.dtype == np.float32
    assert lengths.shape == (3, 1) and lengths.dtype == np.int32
    assert lengths[:, 0].tolist() == [5, 2, 7]
    for i, f in enumerate(feats):
        np.testing.assert_array_equal(batch[i, : len(f)], f)
        assert not batch[i, len(f):].any()


def test_pad_frames_lengths_match_the_spec_dtype(graph):
    batch, lengths = pad_frames([np.ones((3, 4), np.float32)])
    assert lengths.dtype == graph.audio_encoder.inputs[1].dtype.numpy
    assert batch.dtype == graph.audio_encoder.inputs[0].dtype.numpy


def test_pad_frames_of_nothing_raises():
    with pytest.raises(InvalidInputError, match="no audio"):
        pad_frames([])


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("data,match", [
    (b"", "empty"),
    (np.random.default_rng(0).bytes(4000), "not a decodable audio"),
    (b"this is a caption, not a sound file\n" * 50, "not a decodable audio"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "not a decodable audio"),
], ids=["empty", "random", "text", "wav-magic-only"])
def test_undecodable_bytes_raise_invalid_input(data, match, cfg):
    with pytest.raises(InvalidInputError, match=match):
        decode_audio(data, cfg)


@pytest.mark.parametrize("data", ["a string", None, 3.5, np.zeros(100, np.float32)],
                         ids=["str", "none", "float", "array"])
def test_non_bytes_raise_invalid_input(data, cfg):
    with pytest.raises(InvalidInputError, match="must be bytes"):
        decode_audio(data, cfg)


def test_too_long_audio_is_refused(cfg):
    data = encode(np.zeros(int((cfg.max_input_seconds + 1) * SR), np.float32), subtype="PCM_16")
    with pytest.raises(InvalidInputError, match="limit"):
        decode_audio(data, cfg)


def test_too_long_audio_is_refused_from_the_header(cfg):
    """A FLAC 1 s over the cap cut to its first eighth: STREAMINFO still says the full length, and
    that alone refuses it.

    (The cut-off data would decode to far less than the limit, or fail, so the message proves the
    header check ran before decoding. A cut WAV would not do: libsndfile clamps its frame count.)
    """
    seconds = cfg.max_input_seconds + 1
    noise = (0.1 * np.random.default_rng(3).standard_normal(int(seconds * SR))).astype(np.float32)
    full = encode(noise, fmt="FLAC", subtype="PCM_16")
    with pytest.raises(InvalidInputError, match=rf"{seconds:.2f} s long; the limit is {cfg.max_input_seconds:g} s"):
        decode_audio(full[: len(full) // 8], cfg)


def test_audio_at_the_limit_is_accepted(cfg):
    y = decode_audio(encode(np.zeros(int(cfg.max_seconds * 44_100), np.float32), 44_100, subtype="PCM_16"), cfg)
    assert len(y) == int(cfg.max_seconds * cfg.sample_rate)


def test_too_short_audio_is_refused(cfg):
    data = encode(np.zeros(int(cfg.min_seconds * SR / 2), np.float32), subtype="PCM_16")
    with pytest.raises(InvalidInputError, match="minimum"):
        decode_audio(data, cfg)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused(bad, cfg):
    x = sine(440, 0.5)
    x[1234] = bad
    with pytest.raises(InvalidInputError, match="NaN or infinite"):
        decode_audio(encode(x, subtype="FLOAT"), cfg)


def test_byte_limit_from_config(cfg):
    data = encode(sine(440, 0.5), subtype="PCM_16")
    with pytest.raises(InvalidInputError, match=rf"{len(data)} bytes; the limit is"):
        decode_audio(data, dataclasses.replace(cfg, max_bytes=len(data) - 1))


def test_too_many_channels_are_refused(cfg):
    data = encode(np.zeros((SR // 2, 9), np.float32), subtype="FLOAT")
    with pytest.raises(InvalidInputError, match="9 channels"):
        decode_audio(data, cfg)


def test_truncated_flac_is_refused(cfg):
    noise = (0.1 * np.random.default_rng(2).standard_normal(SR)).astype(np.float32)
    data = encode(noise, fmt="FLAC", subtype="PCM_16")
    with pytest.raises(InvalidInputError):
        decode_audio(data[: len(data) // 2], cfg)
