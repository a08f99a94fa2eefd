from __future__ import annotations

import copy

import pytest
import torch

from mmtriton.training.dataset import load_split
from mmtriton.training.features import cache_split
from mmtriton.training.loop import TrainConfig, drop_modalities, fit, make_optimizer
from mmtriton.training.scoring import accuracy


@pytest.fixture(scope="module")
def cached(tiny_data, untrained_model, preprocessor):
    return {s: cache_split(untrained_model, preprocessor, load_split(tiny_data / f"{s}.jsonl", preprocessor))
            for s in ("train", "val")}


def test_modality_dropout_only_removes_and_never_empties():
    gen = torch.Generator().manual_seed(0)
    presence = (torch.rand(2000, 3, generator=gen) < 0.6).float()
    presence[presence.sum(dim=1) == 0, 0] = 1.0
    dropped = drop_modalities(presence, 0.5, gen)
    assert torch.all(dropped <= presence)
    assert torch.all(dropped.sum(dim=1) >= 1)
    changed = (dropped != presence).any(dim=1).float().mean().item()
    assert 0.1 < changed < 0.5


def test_training_is_seeded_reproducible_and_learns(untrained_model, cached):
    cfg = TrainConfig(epochs=4, batch_size=16, patience=10, seed=3)
    a, b = copy.deepcopy(untrained_model), copy.deepcopy(untrained_model)
    hist_a = fit(a, cached["train"], cached["val"], cfg)
    hist_b = fit(b, cached["train"], cached["val"], cfg)
    assert hist_a.train_loss == hist_b.train_loss
    for (k, va), vb in zip(a.trainable_state().items(), b.trainable_state().values()):
        assert torch.equal(va, vb), k
    assert hist_a.train_loss[-1] < hist_a.train_loss[0]
    assert len(hist_a.val_accuracy) == 4


def test_frozen_backbones_do_not_change(untrained_model, cached):
    model = copy.deepcopy(untrained_model)
    before = {k: v.clone() for k, v in model.state_dict().items() if k.startswith(("image.backbone.", "text.backbone."))}
    fit(model, cached["train"], cached["val"], TrainConfig(epochs=1, batch_size=16))
    after = model.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())


def test_early_stopping_counts_from_the_top_score_and_keeps_the_latest_tie(untrained_model, cached):
    """With lr 0 and batch norm's running statistics held (momentum 0), every epoch scores what
    the first did: training must stop ``patience`` epochs after epoch 0, keeping the last tie."""
    model = copy.deepcopy(untrained_model)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.momentum = 0.0
    history = fit(model, cached["train"], cached["val"], TrainConfig(epochs=10, lr=0.0, patience=2))
    assert len(history.train_loss) == 3  # no improvement after epoch 0 -> stop after patience
    assert len(set(history.val_score)) == 1
    assert (history.top_epoch, history.best_epoch) == (0, 2)
    assert accuracy(model, cached["val"]) == history.val_accuracy[0]


def _kept_epoch(untrained_model, cached, monkeypatch, scores: list[float], patience: int):
    """Train with scripted validation scores; which epoch's weights does fit keep?"""
    from mmtriton.training import loop

    script = iter(scores)
    monkeypatch.setattr(loop, "selection_score", lambda model, val: (0.5, next(script)))
    model, seen = copy.deepcopy(untrained_model), []
    on_epoch = lambda *_: seen.append(copy.deepcopy(model.trainable_state()))  # noqa: E731
    history = fit(model, cached["train"], cached["val"], TrainConfig(epochs=len(scores), patience=patience), on_epoch)
    kept = model.trainable_state()
    matches = [e for e, state in enumerate(seen) if all(torch.equal(kept[k], v) for k, v in state.items())]
    assert matches == [history.best_epoch], "the kept weights are exactly one epoch's"
    return history


def test_a_later_epoch_within_the_standard_error_of_the_top_is_kept(untrained_model, cached, monkeypatch):
    n = len(cached["val"])
    margin = (0.9 * 0.1 / n) ** 0.5  # the standard error of an accuracy of 0.9 on n samples
    tie, beaten = 0.9 - margin / 2, 0.9 - margin * 2
    history = _kept_epoch(untrained_model, cached, monkeypatch, [0.5, 0.9, 0.6, tie, beaten, beaten, beaten], patience=4)
    assert (history.top_epoch, history.best_epoch, len(history.train_loss)) == (1, 3, 6)  # stopped 4 after the top


def test_an_epoch_below_the_standard_error_of_the_top_is_not_kept(untrained_model, cached, monkeypatch):
    n = len(cached["val"])
    beaten = 0.9 - 2 * (0.9 * 0.1 / n) ** 0.5
    history = _kept_epoch(untrained_model, cached, monkeypatch, [0.5, 0.9, beaten, beaten], patience=8)
    assert (history.top_epoch, history.best_epoch) == (1, 1)


def test_standard_error_of_an_accuracy():
    from mmtriton.training.loop import standard_error

    assert standard_error(0.9, 100) == pytest.approx(0.03)
    assert standard_error(0.5, 2500) == pytest.approx(0.01)
    assert standard_error(1.0, 10) == 0.0


def test_sgd_is_selectable(untrained_model):
    assert isinstance(make_optimizer(untrained_model, TrainConfig(optimizer="sgd")), torch.optim.SGD)
    assert isinstance(make_optimizer(untrained_model, TrainConfig()), torch.optim.Adam)


def test_modality_dropout_draws_from_the_spec_subsets_in_the_trained_order():
    """Derived from the spec, yet row for row the binary enumeration the reference model was
    trained with (the random draw indexes these rows, so their order is part of training)."""
    import torch

    from mmtriton.spec import MODALITIES, SUBSETS as SPEC_SUBSETS
    from mmtriton.training.loop import SUBSETS

    trained_with = [[i >> 2 & 1, i >> 1 & 1, i & 1] for i in range(1, 8)]
    assert torch.equal(SUBSETS, torch.tensor(trained_with, dtype=torch.float32))
    assert {tuple(m for m, on in zip(MODALITIES, row) if on) for row in SUBSETS.int().tolist()} == set(SPEC_SUBSETS)


def test_training_leaves_the_stroke_cnn_in_the_usual_layout(untrained_model, cached):
    """Convolutions train channels-last; checkpoints and export must see the usual layout."""
    from mmtriton.training.layout import channels_last

    model = copy.deepcopy(untrained_model)
    convs = [p for p in model.image.strokes.parameters() if p.ndim == 4]
    with channels_last(model.image.strokes):
        assert all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
        assert not all(p.is_contiguous() for p in convs)  # a one-channel conv is both
    fit(model, cached["train"], cached["val"], TrainConfig(epochs=1, batch_size=16))
    assert all(p.is_contiguous() for p in model.image.strokes.parameters())


def test_channels_last_nested_leaves_the_outer_layout_alone(untrained_model):
    """Validation inside an epoch asks for channels-last again; leaving that inner block must
    not put the weights back while the training around it still runs channels-last."""
    from mmtriton.training.layout import channels_last

    model = copy.deepcopy(untrained_model)
    telling = [p for p in model.image.strokes.parameters() if p.ndim == 4 and not p.is_contiguous(memory_format=torch.channels_last)]
    assert telling
    with channels_last(model.image.strokes):
        with channels_last(model.image.strokes):
            pass
        assert all(p.is_contiguous(memory_format=torch.channels_last) and not p.is_contiguous() for p in telling)
    assert all(p.is_contiguous() for p in telling)
