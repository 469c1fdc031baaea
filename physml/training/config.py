"""Training configuration: data, model, losses, optimiser and schedule, composed from dataclasses and YAML."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["DataConfig", "ModelSpec", "OptimConfig", "TrainConfig", "load_train_config", "train_config_from_dict"]


@dataclass(frozen=True)
class DataConfig:
    """Which file, which windows, how they are normalised and batched."""

    path: str
    n_input: int = 1
    fields: tuple[str, ...] | None = None
    constant_fields: tuple[str, ...] | None = None
    normalize: str | None = "rms"
    batch_size: int = 32
    num_workers: int = 0


@dataclass(frozen=True)
class ModelSpec:
    """A registered model by name and its config values; channel counts are filled in from the data."""

    name: str = "fno"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then cosine decay, and gradient clipping."""

    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    grad_clip: float = 1.0


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run.

    ``unroll`` > 1 trains on autoregressive rollouts of that many steps;
    ``pushforward`` then stops gradients through all but the last step
    (Brandstetter et al. 2022). ``losses`` weights ``"data"`` (MSE on the
    normalised fields) and any registered physics constraint by name.
    """

    data: DataConfig
    model: ModelSpec = field(default_factory=ModelSpec)
    optim: OptimConfig = field(default_factory=OptimConfig)
    losses: dict[str, float] = field(default_factory=lambda: {"data": 1.0})
    epochs: int = 10
    unroll: int = 1
    pushforward: bool = False
    seed: int = 0
    device: str = "auto"
    checkpoint_every: int = 100

    def __post_init__(self) -> None:
        for name in ("epochs", "unroll", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} = {value!r} is invalid: must be an integer >= 1")
        if not self.losses:
            raise ValueError("losses is empty: give at least {data: 1.0}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    if not isinstance(values, Mapping):
        raise ValueError(f"{where} = {values!r} is invalid: must be a mapping")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{where} keys {unknown} are invalid: valid keys are {sorted(known)}")
    return cls(**{k: tuple(v) if isinstance(v, list) and k in ("fields", "constant_fields") else v
                  for k, v in values.items()})  # fmt: skip


def train_config_from_dict(raw: Mapping[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from plain values (e.g. YAML); unknown keys are errors naming the valid ones."""
    raw = dict(raw)
    if "data" not in raw:
        raise ValueError("training config is missing 'data'")
    parts = {
        "data": _build(DataConfig, raw.pop("data"), "data"),
        "model": _build(ModelSpec, raw.pop("model", {}), "model"),
        "optim": _build(OptimConfig, raw.pop("optim", {}), "optim"),
    }
    return _build(TrainConfig, {**raw, **parts}, "training config")


def load_train_config(path: str | os.PathLike[str]) -> TrainConfig:
    """Read a YAML training config."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"training config {path} does not exist")
    return train_config_from_dict(yaml.safe_load(path.read_text()) or {})
