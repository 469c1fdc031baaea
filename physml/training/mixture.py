"""Joint training over several datasets: each batch from one of them, in the proportions the config gives.

A batch holds samples of one dataset (one family: one grid, one channel set). Over an epoch, dataset ``s`` gets
``round(E w_s / sum(w))`` of its ``E`` batches (largest remainders, so the counts add up to ``E`` and match the
weights as closely as whole batches can); ``E`` is the number of batches one pass over every dataset takes,
``sum_s ceil(n_s / B)``. The order of the batches is a seeded shuffle. Within a dataset the samples come from a
stream of seeded permutations, one after another, continued from epoch to epoch: a dataset drawn for more batches
than it holds wraps into its next permutation, one drawn for fewer sees the next part of its stream in the next
epoch, so over the epochs every sample is seen as often as the weights say. Everything is a function of
``(seed, epoch)``: a run resumed mid-epoch sees the same batches. Weights equal to each dataset's batches per pass,
``ceil(n_s / B)``, give each dataset exactly the batches a run on it alone takes; a dataset of weight 0 still counts
in ``E`` (its share goes to the others).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import torch

__all__ = ["batch_counts", "epoch_batches", "mixed_batches"]


def batch_counts(sizes: Mapping[str, int], weights: Mapping[str, float], batch_size: int) -> dict[str, int]:
    """Batches per epoch of each dataset: the weights' shares of ``sum ceil(n_s / batch_size)``, whole.

    Raises ``ValueError`` for a weight that is negative or not finite, all weights zero, or an empty dataset
    with a positive weight.
    """
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
            raise ValueError(f"data.{name}.weight = {weight!r} is invalid: must be a finite number >= 0")
        if weight > 0 and sizes[name] == 0:
            raise ValueError(f"data.{name} has no training samples, but its weight is {weight}")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"data weights {dict(weights)} are invalid: at least one must be > 0")
    epoch = sum(math.ceil(sizes[name] / batch_size) for name in sizes)
    exact = {name: epoch * weights[name] / total for name in sizes}
    counts = {name: math.floor(share) for name, share in exact.items()}
    by_remainder = sorted(sizes, key=lambda name: (counts[name] - exact[name], list(sizes).index(name)))
    for name in by_remainder[: epoch - sum(counts.values())]:
        counts[name] += 1
    return counts


def mixed_batches(
    sizes: Mapping[str, int], weights: Mapping[str, float], *, batch_size: int, seed: int, epoch: int
) -> list[tuple[str, list[int]]]:
    """The batches of ``epoch``: ``(dataset name, sample indices)`` in training order (see the module docstring).

    Examples
    --------
    >>> batches = mixed_batches({"a": 10, "b": 30}, {"a": 1.0, "b": 1.0}, batch_size=4, seed=0, epoch=0)
    >>> len(batches), sum(name == "a" for name, _ in batches)
    (11, 6)
    """
    counts = batch_counts(sizes, weights, batch_size)
    batches = []
    for name, count in counts.items():
        start = epoch * count * batch_size  # where this epoch starts in the dataset's stream
        stream = _stream(sizes[name], seed, list(sizes).index(name), start, count * batch_size)
        batches += [(name, stream[i : i + batch_size]) for i in range(0, len(stream), batch_size)]
    generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def epoch_batches(
    sizes: Mapping[str, int], weights: Mapping[str, float] | None, *, batch_size: int, seed: int, epoch: int
) -> list[tuple[str, list[int]]]:
    """A run's batches of ``epoch``: ``(dataset name, indices into the datasets one after another)``.

    ``weights`` ``None`` (one dataset): a seeded permutation of it in batches, the last one short; else the
    mixture of :func:`mixed_batches`.
    """
    if weights is None:
        [(name, size)] = sizes.items()
        order = torch.randperm(size, generator=torch.Generator().manual_seed(seed * 1_000_003 + epoch)).tolist()
        return [(name, order[i : i + batch_size]) for i in range(0, size, batch_size)]
    offsets = dict(zip(sizes, itertools.accumulate([0, *sizes.values()])))
    plan = mixed_batches(sizes, weights, batch_size=batch_size, seed=seed, epoch=epoch)
    return [(name, [offsets[name] + i for i in batch]) for name, batch in plan]


def _stream(size: int, seed: int, index: int, start: int, length: int) -> list[int]:
    """Samples ``start .. start + length`` of a dataset's stream of permutations (permutation ``k`` drawn from
    ``(seed, index, k)``)."""
    out: list[int] = []
    position = start
    while len(out) < length:
        k, offset = divmod(position, size)
        generator = torch.Generator().manual_seed((seed * 1_000_003 + index) * 1_000_003 + k)
        take = torch.randperm(size, generator=generator)[offset : offset + length - len(out)].tolist()
        out += take
        position += len(take)
    return out
