"""UTF-8 text -> token ids + attention mask through Hugging Face ``tokenizers`` (Rust, batched)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence, Union

import numpy as np

from mmtriton.errors import InvalidInputError
from mmtriton.spec.dtypes import DType
from mmtriton.spec.presets import TextConfig

TextLike = Union[str, bytes, bytearray]


def check_text(text: TextLike, cfg: TextConfig) -> str:
    """Decode and validate one caption: at most ``max_bytes`` before decoding, UTF-8, at most
    ``max_chars`` characters, not blank."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        if len(raw) > cfg.max_bytes:
            raise InvalidInputError(f"text is {len(raw)} bytes; the limit is {cfg.max_bytes}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidInputError(f"text is not valid UTF-8: {e}") from e
    elif isinstance(text, str):
        size = len(text.encode("utf-8"))
        if size > cfg.max_bytes:
            raise InvalidInputError(f"text is {size} bytes; the limit is {cfg.max_bytes}")
    else:
        raise InvalidInputError(f"text must be str or bytes, got {type(text).__name__}")
    if len(text) > cfg.max_chars:
        raise InvalidInputError(f"text is {len(text)} characters; the limit is {cfg.max_chars}")
    if not text.strip():
        raise InvalidInputError("text is empty")
    return text


class TextTokenizer:
    """A WordPiece/BPE tokenizer from a ``tokenizer.json`` file, a model folder or a hub id."""

    def __init__(self, source: Union[str, Path], cfg: TextConfig, ids_dtype: DType, mask_dtype: DType) -> None:
        from tokenizers import Tokenizer

        path = Path(source)
        if path.is_dir():
            path = path / "tokenizer.json"
        self.tokenizer = Tokenizer.from_file(str(path)) if path.is_file() else Tokenizer.from_pretrained(str(source))
        self.tokenizer.enable_truncation(max_length=cfg.max_tokens)
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if pad_id is None else pad_id
        self.tokenizer.enable_padding(pad_id=self.pad_id, pad_token="[PAD]")
        self.cfg = cfg
        self.ids_dtype = ids_dtype.numpy
        self.mask_dtype = mask_dtype.numpy

    def __call__(self, texts: Sequence[TextLike]) -> tuple[np.ndarray, np.ndarray]:
        """Captions -> (ids [N, L], mask [N, L]), padded to the longest in the batch."""
        if len(texts) == 0:
            raise InvalidInputError("no texts to tokenise")
        encodings = self.tokenizer.encode_batch([check_text(t, self.cfg) for t in texts])
        ids = np.asarray([e.ids for e in encodings], dtype=self.ids_dtype)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=self.mask_dtype)
        return ids, mask
