"""The speech path against what it was taken from: the published ONNX graphs, run by ONNX Runtime.

The expected values come from the wheel's own embedding_model.onnx and melspectrogram.onnx, not
from our modules, so a wrong layer order, padding or pooling in our rewrite fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mmtriton.data import engines
from mmtriton.models import speech_embedding as se
from mmtriton.models.audio import AudioEncoder
from mmtriton.models.speech_frontend import GAIN_DB, fit_adaptor
from mmtriton.preprocess.audio import LogMel
from mmtriton.resources import speech_models

FOLDER = speech_models()
pytestmark = pytest.mark.skipif(FOLDER is None, reason="openwakeword==0.5.1 (the speech embedding's wheel) is not installed")


@pytest.fixture(scope="module")
def embedding():
    module = se.SpeechEmbedding()
    se.load_weights(module, FOLDER / "embedding_model.onnx")
    return module.eval()


@pytest.fixture(scope="module")
def adaptor(graph):
    return fit_adaptor(graph.preset.audio, FOLDER / "melspectrogram.onnx", clips=120)


def test_our_network_matches_the_published_graph_on_every_window(embedding):
    import onnxruntime as ort

    session = ort.InferenceSession(str(FOLDER / "embedding_model.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).normal(0, 1.5, (2, se.WINDOW + se.STRIDE * 4, se.MELS)).astype(np.float32)
    with torch.no_grad():
        ours = embedding(torch.from_numpy(x)).numpy()
    assert ours.shape == (2, 5, se.FEATURES)
    for j in range(5):
        window = x[:, se.STRIDE * j: se.STRIDE * j + se.WINDOW, :, None]
        ref = session.run(None, {session.get_inputs()[0].name: window})[0].reshape(2, se.FEATURES)
        assert np.abs(ours[:, j] - ref).max() < 1e-4 * max(1.0, np.abs(ref).max())


def test_a_file_of_another_shape_is_refused(tmp_path):
    import onnx
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((8, 1, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [1, 1, 4, 4])],
                          [helper.make_tensor_value_info("y", 1, None)], [w])
    onnx.save(helper.make_model(g), tmp_path / "other.onnx")
    from mmtriton.errors import CheckpointError

    with pytest.raises(CheckpointError, match="convolutions"):
        se.load_weights(se.SpeechEmbedding(), tmp_path / "other.onnx")


def test_the_band_map_reproduces_the_published_mel_graph_on_speech(graph, adaptor):
    """On real synthesised words (not the noise it was fitted on): mean error under 4 dB."""
    import onnxruntime as ort
    import soxr

    session = ort.InferenceSession(str(FOLDER / "melspectrogram.onnx"), providers=["CPUExecutionProvider"])
    log_mel, errors = LogMel(graph.preset.audio), []
    for voice in ("en-us+m1", "flite:slt", "festival:kal_diphone"):
        x, sr = engines.synthesize("seven", voice, 170, 50)
        x = soxr.resample(x, sr, 16000).astype(np.float32)
        theirs = session.run(None, {"input": (x * 32767)[None]})[0][0, 0]
        ours = np.exp(log_mel(x))
        n = min(len(theirs), len(ours) - 2)
        pred = 10 * np.log10(np.maximum(ours[2:2 + n] @ adaptor.T, 1e-19)) + GAIN_DB
        loud = theirs[:n] > theirs.max() - 50
        errors.append(np.abs(pred - theirs[:n])[loud])
    assert float(np.mean(np.concatenate(errors))) < 4.0


@pytest.mark.parametrize("length", [11, 75, 76, 160, 300])
def test_speech_path_ignores_padding(graph, adaptor, length):
    frames = graph.frames
    torch.manual_seed(0)
    tower = AudioEncoder(graph.preset.audio.n_mels, graph.preset.embed_dim, frames.max, speech=True)
    se.load_weights(tower.speech.embedding, FOLDER / "embedding_model.onnx")
    tower.speech.adaptor.copy_(torch.from_numpy(adaptor))
    tower.eval()
    rng = np.random.default_rng(length)
    clip = torch.from_numpy((rng.standard_normal((1, length, 64)) - 6).astype(np.float32))
    batch = torch.from_numpy(rng.standard_normal((2, frames.max, 64)).astype(np.float32) * 5)
    batch[1, :length] = clip[0]
    with torch.no_grad():
        alone = tower(clip, torch.tensor([[length]], dtype=torch.int32))
        padded = tower(batch, torch.tensor([[frames.max], [length]], dtype=torch.int32))[1:2]
    assert torch.max(torch.abs(alone - padded)).item() < 1e-4


def test_no_intermediate_power_overflows_an_fp16_engine(graph, adaptor):
    """Full-scale noise, the loudest input there is: the band powers stay far below 65504."""
    x = np.random.default_rng(0).uniform(-1, 1, 16000).astype(np.float32)
    power = np.exp(LogMel(graph.preset.audio)(x)) @ adaptor.T
    assert float(power.max()) < 65504 / 8
