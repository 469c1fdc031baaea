"""Text and images for torch samples: each trajectory's description and picture, from its stored parameters.

:class:`Modalities` reads a file's parameters back (:func:`~physml.datasets.descriptions.read_parameters`)
and hands them to the family's :meth:`~physml.datasets.families.Family.caption` and
:meth:`~physml.datasets.families.Family.render`, as a
:class:`~physml.datasets.samples.WindowDataset` transform::

    tokenizer = Tokenizer.train(file_descriptions(path), vocab_size=512)
    modalities = Modalities(path, image_size=(64, 64), tokenizer=tokenizer, text_length=256)
    data = WindowDataset(path, split="train", transforms=[modalities])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from physml.datasets.descriptions import Source, caption_rng, read_parameters, store_info
from physml.datasets.families import Family, get_family
from physml.datasets.raster import check_size
from physml.datasets.tokenizer import Tokenizer

__all__ = ["Modalities"]


class Modalities:
    """A sample transform adding ``text``, ``text_tokens`` and ``image`` for the sample's trajectory.

    Parameters
    ----------
    source
        The file (path or :class:`StoreInfo`) the samples come from.
    text
        Add ``sample["text"]``, the trajectory's description (str).
    image_size
        ``(H, W)``: add ``sample["image"]``, float32 ``(C, H, W)`` in [0, 1] (the family's
        :meth:`~physml.datasets.families.Family.render`, computed once per trajectory); ``None`` for none.
    tokenizer
        Add ``sample["text_tokens"]``, int64 ``(text_length,)`` (needs ``text``). A description
        longer than ``text_length`` tokens raises ``ValueError``.
    text_length
        Context length of the tokens, ``[BOS]`` and ``[EOS]`` included.
    seed
        Seed of the phrasing: with ``vary=False`` trajectory ``i`` always reads as the
        phrasing drawn from ``(seed, i)``.
    vary
        Draw a new phrasing for every sample (training), from torch's generator, so
        ``torch.manual_seed`` and ``DataLoader`` worker seeding make it reproducible.
    """

    def __init__(
        self,
        source: Source,
        *,
        text: bool = True,
        image_size: tuple[int, int] | None = None,
        tokenizer: Tokenizer | None = None,
        text_length: int = 256,
        seed: int = 0,
        vary: bool = False,
    ) -> None:
        if tokenizer is not None and not text:
            raise ValueError("tokenizer is invalid with text = False: tokens are made from the text")
        if isinstance(text_length, bool) or not isinstance(text_length, int) or text_length < 2:
            raise ValueError(f"text_length = {text_length!r} is invalid: must be an integer >= 2")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed = {seed!r} is invalid: must be an integer >= 0")
        self.info = store_info(source)
        self.family: Family = get_family(self.info.family)
        self.parameters = read_parameters(self.info)
        self.text, self.tokenizer, self.text_length = text, tokenizer, text_length
        self.seed, self.vary = seed, vary
        self.image_size = None if image_size is None else check_size(image_size)
        #: Channel names of ``sample["image"]`` (empty without images).
        self.image_channels: tuple[str, ...] = ()
        if self.image_size is not None:
            try:
                self.image_channels = self.family.image_channels(self.parameters[0])
            except NotImplementedError as exc:
                raise ValueError(f"image_size is invalid for {self.info.path}: {exc}") from None
        self._images: dict[int, torch.Tensor] = {}

    def caption(self, trajectory: int) -> str:
        """The description of ``trajectory`` (with ``vary``, a fresh phrasing per call)."""
        extra = [int(torch.randint(2**62, ()))] if self.vary else []
        return self.family.caption(self.parameters[trajectory], rng=caption_rng(self.seed, trajectory, *extra))

    def image(self, trajectory: int) -> torch.Tensor:
        """The picture of ``trajectory``, ``(C, H, W)`` float32 (rendered once, then cached)."""
        if self.image_size is None:
            raise ValueError("image_size is None: this transform makes no images")
        if trajectory not in self._images:
            picture = self.family.render(self.parameters[trajectory], size=self.image_size)
            self._images[trajectory] = torch.from_numpy(np.ascontiguousarray(picture, dtype=np.float32))
        return self._images[trajectory]

    def __call__(self, sample: dict[str, Any]) -> dict[str, Any]:
        trajectory = int(sample["trajectory"])
        sample = dict(sample)
        if self.text:
            sample["text"] = self.caption(trajectory)
            if self.tokenizer is not None:
                sample["text_tokens"] = self.tokenizer.encode_batch([sample["text"]], length=self.text_length)[0]
        if self.image_size is not None:
            sample["image"] = self.image(trajectory).clone()  # the cache stays intact whatever later transforms do
        return sample

    def __repr__(self) -> str:
        return (
            f"Modalities({str(self.info.path)!r}, family={self.family.name!r}, text={self.text}, "
            f"image_size={self.image_size}, tokenizer={self.tokenizer!r}, text_length={self.text_length}, "
            f"seed={self.seed}, vary={self.vary})"
        )
