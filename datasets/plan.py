"""The plan of a build: every trajectory's parameters and split, drawn before anything runs.

Every random draw of trajectory ``i`` comes from its own generator seeded by
``(seed, i, stream)``, so a trajectory does not depend on how many others there
are, on the order they are built in or on the number of workers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from physml.datasets.config import BuildConfig, Sweep

__all__ = ["Plan", "make_plan"]


@dataclass(frozen=True)
class Plan:
    """Per-trajectory parameters (``None`` where a parameter does not apply) and split labels."""

    parameters: list[dict[str, Any]]
    splits: list[str]

    def __len__(self) -> int:
        return len(self.parameters)


def _rng(seed: int, index: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, index, stream]))


def _draw(sweeps: Mapping[str, Sweep], index: int, rng: np.random.Generator) -> dict[str, Any]:
    values: dict[str, Any] = {}
    grid = [s for s in sweeps.values() if s.kind == "grid"]
    if grid:
        product = list(itertools.product(*(s.values for s in grid)))
        values.update(zip((s.name for s in grid), product[index % len(product)]))
    for sweep in sorted(sweeps.values(), key=lambda s: s.name):
        if sweep.kind == "list":
            values[sweep.name] = sweep.values[index % len(sweep.values)]
        elif sweep.kind == "choice":
            values[sweep.name] = sweep.values[int(rng.integers(len(sweep.values)))]
        elif sweep.kind == "uniform":
            values[sweep.name] = float(rng.uniform(sweep.low, sweep.high))
        elif sweep.kind == "log-uniform":
            values[sweep.name] = float(math.exp(rng.uniform(math.log(sweep.low), math.log(sweep.high))))
    return values


def make_plan(config: BuildConfig) -> Plan:
    """Draw every trajectory's parameters and split (deterministic in ``config.seed``)."""
    names = config.parameter_names()
    weights = np.array([w for w, _, _ in config.cases])
    cumulative = np.cumsum(weights) / weights.sum() if config.cases else None
    split_edges = np.cumsum([config.fractions[s] for s in ("train", "val", "test")])
    parameters, splits = [], []
    for i in range(config.n_trajectories):
        params: dict[str, Any] = dict.fromkeys(names)
        params.update(config.fixed)
        params.update(_draw(config.sweep, i, _rng(config.seed, i, 0)))
        if cumulative is not None:
            case = int(np.searchsorted(cumulative, _rng(config.seed, i, 1).uniform(), side="right"))
            _, fixed, sweep = config.cases[min(case, len(config.cases) - 1)]
            params.update(fixed)
            params.update(_draw(sweep, i, _rng(config.seed, i, 2)))
        parameters.append(params)
        held_out = config.extrapolation is not None and config.extrapolation.holds_out(
            params.get(config.extrapolation.parameter)
        )
        if held_out:
            splits.append("extrapolation")
        else:
            u = _rng(config.seed, i, 3).uniform()
            splits.append(("train", "val", "test")[min(int(np.searchsorted(split_edges, u, side="right")), 2)])
    return Plan(parameters, splits)
