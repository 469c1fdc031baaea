"""Each stored trajectory's parameters read back, and its descriptions in words.

A file stores every trajectory's resolved parameters (per-trajectory ones as
``scalars/<name>``, categorical ones as integer codes; shared ones as root
attributes). :func:`read_parameters` turns them back into the dictionaries the
family resolved when the file was built; :func:`file_descriptions` words them
with the family's :meth:`~physml.datasets.families.Family.caption`, e.g. to
train a :class:`~physml.datasets.tokenizer.Tokenizer`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from physml.datasets.families import get_family
from physml.datasets.schema import DataFileError, StoreInfo, open_h5, read_info

__all__ = ["Source", "caption_rng", "file_descriptions", "read_parameters", "store_info"]

Source = str | os.PathLike[str] | StoreInfo


def store_info(source: Source) -> StoreInfo:
    """The header of a file built by a physml family (``DataFileError`` for any other file)."""
    info = source if isinstance(source, StoreInfo) else read_info(source)
    if not info.is_physml or not info.family:
        raise DataFileError(f"{info.path} was not built by a physml family: it has no parameters to describe")
    return info


def _plain(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value (arrays as lists, numpy scalars as Python ones)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else value.item()
    return value.item() if isinstance(value, np.generic) else value


def read_parameters(source: Source) -> list[dict[str, Any]]:
    """Every trajectory's parameters as its family resolved them (``None`` where one does not apply).

    Shared parameters come from the root attributes, per-trajectory ones from
    ``scalars/`` (float64, so the values are the resolved ones exactly; integers
    read back as whole floats, categories by name).
    """
    info = store_info(source)
    family = get_family(info.family)
    rows: list[dict[str, Any]] = [{} for _ in range(info.n_trajectories)]
    with open_h5(info.path) as f:
        for name, spec in family.parameters.items():
            stored = info.parameters.get(name, {})
            if name in f.attrs and stored.get("shared", spec.shared):
                value = _plain(f.attrs[name])
                values: Sequence[Any] = [value] * info.n_trajectories
            elif name in f["scalars"]:
                column = f["scalars"][name][...]
                categories = stored.get("categories") or spec.categories
                if categories is not None:
                    values = [categories[int(c)] if c >= 0 else None for c in column]
                else:
                    kind = int if spec.integer else float
                    values = [None if np.isnan(v) else kind(v) for v in column]
            else:  # a parameter the family gained after the file was built
                values = [spec.default] * info.n_trajectories
            for row, value in zip(rows, values):
                row[name] = value
    return rows


def caption_rng(seed: int, trajectory: int, *extra: int) -> np.random.Generator:
    """The generator a trajectory's phrasing is drawn with: seeded by ``(seed, trajectory, *extra)``."""
    return np.random.default_rng(np.random.SeedSequence([seed, trajectory, *extra]))


def file_descriptions(source: Source, *, split: str | None = "train", seed: int = 0, phrasings: int = 4) -> list[str]:
    """Descriptions of a file's trajectories (of ``split``; ``None`` for all), to train a tokenizer on.

    Each trajectory gives ``phrasings`` descriptions: the one :class:`Modalities` shows it with
    (``vary=False``, same ``seed``) and ``phrasings - 1`` more drawn at random.
    """
    if isinstance(phrasings, bool) or not isinstance(phrasings, int) or phrasings < 1:
        raise ValueError(f"phrasings = {phrasings!r} is invalid: must be an integer >= 1")
    info = store_info(source)
    family = get_family(info.family)
    chosen = np.ones(info.n_trajectories, bool)  # every trajectory's parameters are written when a file is created
    if split is not None:
        if info.splits.size == 0:
            raise ValueError(f"split = {split!r} is invalid for {info.path}: the file has no split information")
        chosen &= info.splits == split
    texts = []
    for trajectory, params in enumerate(read_parameters(info)):
        if chosen[trajectory]:
            texts.append(family.caption(params, rng=caption_rng(seed, trajectory)))
            texts += [family.caption(params, rng=caption_rng(seed, trajectory, k)) for k in range(1, phrasings)]
    return texts
