"""The optimiser a run trains with: AdamW with the weight decay a model asks for, and its learning-rate schedule."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

__all__ = ["decay_groups", "frozen_parameters", "warmup_cosine"]


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW's parameter groups: all parameters decay by ``weight_decay`` except those a model marks with
    ``_no_weight_decay`` (a state-space model's ``A_log`` and ``D``: decay would pull its time constants)."""
    kept = [p for p in model.parameters() if getattr(p, "_no_weight_decay", False)]
    decayed = [p for p in model.parameters() if not getattr(p, "_no_weight_decay", False)]
    groups = [{"params": decayed, "weight_decay": weight_decay}]
    return [*groups, {"params": kept, "weight_decay": 0.0}] if kept else groups


def frozen_parameters(model: nn.Module, prefixes: tuple[str, ...]) -> list[nn.Parameter]:
    """The parameters of ``model`` whose names start with one of ``prefixes`` (a whole name part: ``blocks.1``
    is not ``blocks.10``); ``ValueError`` naming a prefix that matches none, with the model's top-level parts."""
    names = dict(model.named_parameters())
    chosen: dict[str, nn.Parameter] = {}
    for prefix in prefixes:
        matched = {n: p for n, p in names.items() if n == prefix or n.startswith(prefix + ".")}
        if not matched:
            parts = sorted({n.split(".")[0] for n in names})
            raise ValueError(f"optim.freeze: {prefix!r} names no parameter of the model; its parts are {parts}")
        chosen |= matched
    return list(chosen.values())


def warmup_cosine(optimizer: torch.optim.Optimizer, *, total: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """The peak rate reached linearly over ``warmup`` steps (at most ``total - 1``), then a cosine decay to
    zero at step ``total``."""
    warmup = min(warmup, max(total - 1, 1))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(total - warmup, 1))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
