"""Convolutions in oneDNN's own memory layout while the project computes with them on the CPU.

PyTorch's default (NCHW) layout makes oneDNN reorder every convolution's input and output; in
channels-last it runs them as they are. Measured on 2 cores: a stroke-CNN training epoch 12 %
faster, the frozen speech embedding's forward 1.7x faster. Checkpoints and ONNX export keep
seeing the usual layout: the weights go back when the block ends, whatever happens in it.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn


def _is_channels_last(module: nn.Module) -> bool:
    """Whether the convolutions already are (a one-channel or 1 x 1 weight is both layouts at
    once, so only the others tell)."""
    last = torch.channels_last
    telling = [p for p in module.parameters()
               if p.ndim == 4 and not (p.is_contiguous() and p.is_contiguous(memory_format=last))]
    return bool(telling) and all(p.is_contiguous(memory_format=last) for p in telling)


@contextlib.contextmanager
def channels_last(module: nn.Module) -> Iterator[None]:
    """``module``'s 4-d weights in channels-last for the duration of the block; re-entrant (the
    evaluation inside a training epoch leaves the layout to the training around it)."""
    if _is_channels_last(module):
        yield
        return
    module.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        module.to(memory_format=torch.contiguous_format)
