"""A small byte-level BPE tokenizer for descriptions, with every digit its own token.

Built on Hugging Face ``tokenizers`` (a compiled wheel, no network use): the
pre-tokenizer isolates each digit before the byte-level split, and BPE merges
never cross a pre-token boundary, so no token ever spans two digits or a digit
and anything else. ``"M = 1.45"`` becomes ``M``, ``Ġ=``, ``Ġ``, ``1``, ``.``, ``4``, ``5``:
a model reads numbers digit by digit, the way they are written, instead of
through a vocabulary of arbitrary number fragments. Byte-level BPE needs no
unknown token for any text (every byte is in the base alphabet).

The tokenizer travels as a JSON string (:meth:`Tokenizer.to_json`), which
fits inside a ``torch.load(..., weights_only=True)`` checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from tokenizers import Tokenizer as _HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

__all__ = ["SPECIAL_TOKENS", "Tokenizer"]

#: Special tokens, in id order: padding is 0.
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[BOS]", "[EOS]")
#: The smallest useful vocabulary: the 256 byte symbols and the special tokens.
MIN_VOCAB = 256 + len(SPECIAL_TOKENS)


class Tokenizer:
    """Byte-level BPE with digits split one by one; ``[PAD] = 0``, ``[UNK]``, ``[BOS]``, ``[EOS]``.

    Examples
    --------
    >>> tok = Tokenizer.train(["a hole of mass M = 1.45", "a pulse of width 2.5 M"] * 20, vocab_size=300)
    >>> ids = tok.encode("M = 1.45")
    >>> tok.decode(ids)
    'M = 1.45'
    >>> tok.encode_batch(["M = 1.45"], length=12).shape
    torch.Size([1, 12])
    """

    def __init__(self, backend: _HFTokenizer) -> None:
        self._backend = backend
        ids = [backend.token_to_id(t) for t in SPECIAL_TOKENS]
        if ids != list(range(len(SPECIAL_TOKENS))):
            raise ValueError(f"special tokens {SPECIAL_TOKENS} must have ids 0..3, got {ids}")

    @classmethod
    def train(cls, texts: Iterable[str], *, vocab_size: int = 512) -> Tokenizer:
        """Learn merges from ``texts`` up to ``vocab_size`` tokens (fewer if the texts run out of pairs)."""
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < MIN_VOCAB:
            raise ValueError(f"vocab_size = {vocab_size!r} is invalid: must be an integer >= {MIN_VOCAB}")
        texts = list(texts)
        if not texts or not all(isinstance(t, str) for t in texts):
            raise ValueError("texts is invalid: need a non-empty sequence of strings")
        backend = _HFTokenizer(models.BPE(unk_token="[UNK]"))
        backend.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
        )
        backend.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=list(SPECIAL_TOKENS),
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        backend.train_from_iterator(texts, trainer=trainer)
        return cls(backend)

    # -- ids --------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        """Number of token ids (special tokens included): embeddings need this many rows."""
        return self._backend.get_vocab_size()

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return SPECIAL_TOKENS.index("[BOS]")

    @property
    def eos_id(self) -> int:
        return SPECIAL_TOKENS.index("[EOS]")

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens)."""
        return self._backend.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """The text of ``ids``, special tokens (padding, [BOS], [EOS]) dropped."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return self._backend.decode(ids, skip_special_tokens=True)

    def encode_batch(self, texts: Sequence[str], *, length: int) -> torch.Tensor:
        """``(B, length)`` int64 ids, each text as ``[BOS] ... [EOS]`` then ``[PAD]`` (0).

        Raises ``ValueError`` when a text needs more than ``length`` tokens: a description
        longer than the model's context is an error, never silently cut.
        """
        if isinstance(length, bool) or not isinstance(length, int) or length < 2:
            raise ValueError(f"length = {length!r} is invalid: must be an integer >= 2 ([BOS] and [EOS])")
        out = torch.full((len(texts), length), self.pad_id, dtype=torch.long)
        for row, encoding in enumerate(self._backend.encode_batch(list(texts), add_special_tokens=False)):
            ids = [self.bos_id, *encoding.ids, self.eos_id]
            if len(ids) > length:
                raise ValueError(
                    f"text {row} needs {len(ids)} tokens with [BOS] and [EOS], more than length = {length}: "
                    f"raise the context length (or shorten the text): {texts[row][:60]!r}..."
                )
            out[row, : len(ids)] = torch.tensor(ids)
        return out

    # -- saving -----------------------------------------------------------------
    def to_json(self) -> str:
        """The whole tokenizer as a JSON string (store it in a checkpoint beside the weights)."""
        return self._backend.to_str()

    @classmethod
    def from_json(cls, text: str) -> Tokenizer:
        """The tokenizer saved by :meth:`to_json`."""
        return cls(_HFTokenizer.from_str(text))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokenizer) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"Tokenizer(vocab_size={self.vocab_size})"
