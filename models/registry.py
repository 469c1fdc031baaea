"""Model registry: configs name models, and checkpoints rebuild them.

A model class registers itself with its config dataclass; :func:`build_model`
turns ``(name, config)`` into a module. Later families of models (diffusion,
equivariant, neural ODE, multimodal transformer) register the same way, and
the trainer, evaluation and checkpoints need no change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import torch
from torch import nn

from physml.machine import check_fits
from physml.models.config_values import check_values

__all__ = [
    "MODELS",
    "build_model",
    "config_changes",
    "config_fields",
    "config_from_dict",
    "config_to_dict",
    "model_name",
    "register_model",
]

#: Registered models: name -> (model class, config dataclass).
MODELS: dict[str, tuple[type[nn.Module], type]] = {}
M = TypeVar("M", bound=type[nn.Module])


def register_model(name: str, config_class: type) -> Callable[[M], M]:
    """Class decorator: make a model buildable by ``name`` from a ``config_class`` instance."""
    if not dataclasses.is_dataclass(config_class):
        raise TypeError(f"config_class {config_class!r} must be a dataclass")

    def decorate(model_class: M) -> M:
        MODELS[name] = (model_class, config_class)
        return model_class

    return decorate


def _entry(name: str) -> tuple[type[nn.Module], type]:
    from physml import models  # noqa: F401  (registers the built-in models)

    if name not in MODELS:
        raise ValueError(f"model = {name!r} is invalid: choose one of {', '.join(sorted(MODELS))}")
    return MODELS[name]


def config_fields(name: str) -> set[str]:
    """The config keys model ``name`` takes (``ValueError`` naming the choices for an unknown name)."""
    return {f.name for f in dataclasses.fields(_entry(name)[1])}


def config_from_dict(name: str, values: Mapping[str, Any]) -> Any:
    """The config dataclass of model ``name`` from plain values (e.g. YAML); unknown keys are errors."""
    _, config_class = _entry(name)
    known = config_fields(name)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"model.params keys {unknown} are invalid for {name}: valid keys are {sorted(known)}")
    return config_class(**check_values(config_class, values, "model.params"))


def config_to_dict(config: Any) -> dict[str, Any]:
    """Plain (JSON/YAML/``weights_only``-safe) values of a config dataclass."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def config_changes(old: Any, new: Any, names: Iterable[str] | None = None) -> list[str]:
    """``"option: old -> new"`` for each option of ``names`` (default: every field of ``new``) that differs."""
    names = [f.name for f in dataclasses.fields(new)] if names is None else names
    return [f"{n}: {getattr(old, n, None)!r} -> {getattr(new, n, None)!r}" for n in names
            if getattr(old, n, None) != getattr(new, n, None)]  # fmt: skip


def build_model(name: str, config: Any) -> nn.Module:
    """Model ``name`` built from ``config`` (its dataclass, or a mapping of its fields)."""
    model_class, config = _resolve(name, config)
    _check_memory(name, model_class, config)
    return model_class(config)


def _resolve(name: str, config: Any) -> tuple[type[nn.Module], Any]:
    model_class, config_class = _entry(name)
    if isinstance(config, Mapping):
        config = config_from_dict(name, config)
    if not isinstance(config, config_class):
        raise TypeError(f"model {name!r} needs a {config_class.__name__}, got {type(config).__name__}")
    return model_class, config


def _shell(model_class: type[nn.Module], config: Any) -> nn.Module:
    """The model built on the ``meta`` device (shapes, no memory), or for real where building needs data
    (escnn computes its steerable bases from tensors; such models are small)."""
    try:
        with torch.device("meta"):
            return model_class(config)
    except NotImplementedError:
        return model_class(config)


def model_shell(name: str, config: Any) -> nn.Module:
    """Model ``name`` with the shapes of its weights but (where it can) no memory: for checks before a build."""
    return _shell(*_resolve(name, config))


def _check_memory(name: str, model_class: type[nn.Module], config: Any) -> None:
    """Refuse a model whose training state cannot fit in this machine's memory, before allocating it.

    Built first on the ``meta`` device (shapes only); training holds each weight four times
    (the weight, its gradient and AdamW's two moments).
    """
    parameters = list(_shell(model_class, config).parameters())
    weights = sum(p.numel() for p in parameters)
    n_bytes = 4 * sum(p.numel() * p.element_size() for p in parameters)
    check_fits(n_bytes, what=f"model.params {config_to_dict(config)} ({name}: {weights:.3g} weights, trained)")


def model_name(model: nn.Module) -> str:
    """The registered name of ``model``'s class."""
    for name, (model_class, _) in MODELS.items():
        if type(model) is model_class:
            return name
    raise ValueError(f"{type(model).__name__} is not a registered model")
