"""Text preprocessing: dtypes from the spec, padding, truncation, agreement with transformers, bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mmtriton.errors import InvalidInputError
from mmtriton.preprocess.text import TextTokenizer, check_text
from mmtriton.resources import default_text_model
from mmtriton.spec import get_graph

SENTENCES = [
    "a photo of the digit seven",
    "Someone says: NINE!",
    "café naïve résumé — 数字七",
    "the number 3, written in red on a blue background",
    "hi",
]


@pytest.fixture(scope="module")
def cfg(graph):
    return graph.preset.text


@pytest.fixture(scope="module")
def hf_tokenizer():
    transformers = pytest.importorskip("transformers", reason="transformers comes with the train extra")
    return transformers.AutoTokenizer.from_pretrained(default_text_model())


def test_dtypes_come_from_the_spec(preprocessor, graph):
    ids, mask = preprocessor.text(SENTENCES[:2])
    ids_spec, mask_spec = graph.text_encoder.inputs
    assert ids.dtype == ids_spec.dtype.numpy
    assert mask.dtype == mask_spec.dtype.numpy


def test_batch_is_padded_to_the_longest(preprocessor, hf_tokenizer):
    ids, mask = preprocessor.text(SENTENCES)
    lengths = [len(hf_tokenizer(s)["input_ids"]) for s in SENTENCES]
    assert ids.shape == mask.shape == (len(SENTENCES), max(lengths))
    assert mask.sum(axis=1).tolist() == lengths
    for row, n in enumerate(lengths):
        assert mask[row, :n].all() and not mask[row, n:].any()
        assert (ids[row, n:] == hf_tokenizer.pad_token_id).all()


def test_padding_does_not_change_the_tokens(preprocessor):
    batch_ids, batch_mask = preprocessor.text(SENTENCES)
    for row, s in enumerate(SENTENCES):
        ids, mask = preprocessor.text([s])
        assert ids.shape[0] == 1 and mask.all()
        np.testing.assert_array_equal(batch_ids[row, : ids.shape[1]], ids[0])


def test_ids_agree_with_transformers(preprocessor, hf_tokenizer, cfg):
    ids, mask = preprocessor.text(SENTENCES)
    ref = hf_tokenizer(SENTENCES, padding=True, truncation=True, max_length=cfg.max_tokens)
    np.testing.assert_array_equal(ids, np.asarray(ref["input_ids"]))
    np.testing.assert_array_equal(mask, np.asarray(ref["attention_mask"]))


def test_first_token_is_cls_and_last_real_token_is_sep(preprocessor, hf_tokenizer):
    ids, mask = preprocessor.text(SENTENCES)
    assert (ids[:, 0] == hf_tokenizer.cls_token_id).all()
    last = mask.sum(axis=1) - 1
    assert (ids[np.arange(len(SENTENCES)), last] == hf_tokenizer.sep_token_id).all()


def test_long_caption_is_truncated_to_max_tokens(preprocessor, hf_tokenizer, cfg):
    long = "the quick brown fox jumps over the lazy dog " * 200
    ids, mask = preprocessor.text([long, "short"])
    assert ids.shape == (2, cfg.max_tokens)
    assert mask[0].all()
    assert ids[0, 0] == hf_tokenizer.cls_token_id
    assert ids[0, -1] == hf_tokenizer.sep_token_id
    ref = hf_tokenizer(long, truncation=True, max_length=cfg.max_tokens)["input_ids"]
    assert ids[0].tolist() == ref


def test_truncation_follows_the_production_preset(hf_tokenizer):
    prod = get_graph("production")
    ids_spec, mask_spec = prod.text_encoder.inputs
    tok = TextTokenizer(default_text_model(), prod.preset.text, ids_spec.dtype, mask_spec.dtype)
    ids, _ = tok(["word " * 1000])
    assert ids.shape == (1, prod.preset.text.max_tokens)
    assert ids_spec.dims[0].max == prod.preset.text.max_tokens


def test_token_count_fits_the_spec_dim(preprocessor, graph):
    tokens = graph.text_encoder.inputs[0].dims[0]
    ids, _ = preprocessor.text(["x"])
    assert ids.shape[1] >= tokens.min
    ids, _ = preprocessor.text(["many words " * 500])
    assert ids.shape[1] == tokens.max


def test_bytes_and_str_give_identical_results(preprocessor):
    as_str = preprocessor.text(SENTENCES)
    as_bytes = preprocessor.text([s.encode("utf-8") for s in SENTENCES])
    as_bytearray = preprocessor.text([bytearray(s.encode("utf-8")) for s in SENTENCES])
    for other in (as_bytes, as_bytearray):
        np.testing.assert_array_equal(as_str[0], other[0])
        np.testing.assert_array_equal(as_str[1], other[1])


def test_mixed_str_and_bytes_in_one_batch(preprocessor):
    mixed = preprocessor.text([SENTENCES[0], SENTENCES[1].encode("utf-8")])
    np.testing.assert_array_equal(mixed[0], preprocessor.text(SENTENCES[:2])[0])


def test_check_text_returns_the_decoded_caption(cfg):
    assert check_text("  hello ", cfg) == "  hello "
    assert check_text("数字".encode("utf-8"), cfg) == "数字"


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    (b"", "empty"),
    ("   \n\t ", "empty"),
    ("\u3000\u2003", "empty"),  # ideographic and em spaces
    (b"\xff\xfe\xfa", "UTF-8"),
    (b"caf\xe9", "UTF-8"),  # Latin-1, not UTF-8
    (123, "str or bytes"),
    (None, "str or bytes"),
    (["nested"], "str or bytes"),
], ids=["empty-str", "empty-bytes", "whitespace", "unicode-space", "invalid-utf8", "latin1", "int", "none", "list"])
def test_invalid_caption_raises(text, match, preprocessor, cfg):
    with pytest.raises(InvalidInputError, match=match):
        check_text(text, cfg)
    with pytest.raises(InvalidInputError, match=match):
        preprocessor.text(["fine", text])


def test_text_over_the_byte_limit_raises_before_decoding(cfg):
    small = dataclasses.replace(cfg, max_bytes=64)
    at_limit = ("word " * 64)[:64]
    check_text(at_limit, small)  # exactly at the limit is fine
    check_text(at_limit.encode("utf-8"), small)
    for over in (at_limit + "s", (at_limit + "s").encode("utf-8")):
        with pytest.raises(InvalidInputError, match="65 bytes; the limit is 64"):
            check_text(over, small)


def test_byte_limit_counts_utf8_bytes_not_characters(cfg):
    small = dataclasses.replace(cfg, max_bytes=64)
    two_byte = "é" * 33  # 33 characters, 66 bytes
    with pytest.raises(InvalidInputError, match="64"):
        check_text(two_byte, small)


def test_character_limit_refuses_long_text_and_truncates_at_it(preprocessor, cfg):
    at_limit = ("word " * cfg.max_chars)[: cfg.max_chars]
    ids, _ = preprocessor.text([at_limit])  # served, truncated to the token limit
    assert ids.shape[1] == cfg.max_tokens
    cjk = "数" * (cfg.max_chars + 1)  # under the byte limit, over the character limit
    assert len(cjk.encode("utf-8")) <= cfg.max_bytes
    with pytest.raises(InvalidInputError, match=f"{cfg.max_chars + 1} characters; the limit is {cfg.max_chars}"):
        preprocessor.text([cjk])


def test_empty_batch_raises(preprocessor):
    with pytest.raises(InvalidInputError, match="no texts"):
        preprocessor.text([])
