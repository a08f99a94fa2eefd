"""Google's speech embedding (the model openWakeWord builds on) as a frozen PyTorch module.

It was trained on a large amount of real human speech for keyword spotting, which is what an
audio tower trained only on synthesised speech lacks: it maps a 0.76 s window of 32-band mel
frames to 96 numbers that stay put across speakers, microphones and rooms. Its weights come
from the ONNX file in the ``openwakeword==0.5.1`` wheel (Apache-2.0); the architecture is
written out here and every weight shape is checked against that file when it is loaded.

The network is fully convolutional in time (valid 3-tap convolutions, three stride-2 pools), so
run over a whole clip it yields one embedding per 8 frames, each seeing WINDOW frames.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from mmtriton.errors import CheckpointError

WINDOW = 76         # mel frames one embedding sees (10 ms hop: 0.76 s)
STRIDE = 8          # frames between embeddings
MELS = 32
FEATURES = 96
POOLED = 2 * FEATURES   # mean and max over a clip's embeddings (models/audio.py)
LEAK, FLOOR = 0.2, -0.4   # LeakyReLU slope, then max(x, FLOOR): as in the published graph
# (out channels, kernel) per convolution; "P" is a max pool (time, mel). Mel kernels pad 1.
LAYOUT = ((24, (3, 3)), (24, (1, 3)), (24, (3, 1)), "P22",
          (48, (1, 3)), (48, (3, 1)), (48, (1, 3)), (48, (3, 1)), "P12",
          (72, (1, 3)), (72, (3, 1)), (72, (1, 3)), (72, (3, 1)), "P22",
          (96, (1, 3)), (96, (3, 1)), (96, (1, 3)), (96, (3, 1)), "P12",
          (96, (1, 3)), (96, (3, 1)), (96, (1, 3)), (96, (3, 1)), "P22",
          (96, (3, 1)))


class _Act(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(nn.functional.leaky_relu(x, LEAK), min=FLOOR)


def _layers() -> nn.Sequential:
    mods: list[nn.Module] = []
    channels = 1
    for index, item in enumerate(LAYOUT):
        if isinstance(item, str):
            kernel = (int(item[1]), int(item[2]))
            mods.append(nn.MaxPool2d(kernel, kernel))
            continue
        out, (kt, km) = item
        last = index == len(LAYOUT) - 1
        mods.append(nn.Conv2d(channels, out, (kt, km), padding=(0, km // 2), bias=not last))
        if not last:
            mods.append(_Act())
        channels = out
    return nn.Sequential(*mods)


class SpeechEmbedding(nn.Module):
    """features [B, T, 32] (the published input scale) -> embeddings [B, (T - 76) // 8 + 1, 96]."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _layers()

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        out = self.net(frames.unsqueeze(1))          # [B, 96, T', 1]
        return out.squeeze(3).transpose(1, 2)


def load_weights(module: SpeechEmbedding, onnx_file: Path) -> None:
    """Copy the convolution weights of the published ONNX graph, in graph order, shape-checked."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_file)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    found = [[tensors[i] for i in node.input[1:]] for node in graph.node if node.op_type == "Conv"]
    convs = [m for m in module.net if isinstance(m, nn.Conv2d)]
    if len(found) != len(convs):
        raise CheckpointError(f"{onnx_file}: {len(found)} convolutions, expected {len(convs)}")
    for conv, params in zip(convs, found):
        if tuple(params[0].shape) != tuple(conv.weight.shape) or len(params) != 1 + (conv.bias is not None):
            raise CheckpointError(f"{onnx_file}: a convolution of shape {params[0].shape} does not fit {tuple(conv.weight.shape)}")
        conv.weight.data.copy_(torch.from_numpy(params[0].copy()))
        if conv.bias is not None:
            conv.bias.data.copy_(torch.from_numpy(params[1].copy()))
