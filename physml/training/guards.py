"""Training guards: a run that goes non-finite stops before the damage reaches a weight or a checkpoint.

A NaN or an infinity in one loss term (a physics residual at a wild
prediction, an overflow under bf16) spreads through the gradient into every
weight at the next optimiser step; saved, it would replace the last good
checkpoint with a useless one. The trainer therefore checks, at each step and
on every rank alike (the losses and the gradients are already reduced over
the ranks, so all of them see the same values and stop together):

1. every loss term and their weighted total, before ``backward``;
2. the gradient norm, before the optimiser step;
3. the weights, before a checkpoint is written.

The first failure raises :class:`TrainingDivergedError` naming the step and what
went non-finite; ``last.pt`` and ``best.pt`` stay as they were. The run then
resumes from ``last.pt`` at a lower peak learning rate with
``physml train CONFIG --out RUN --lr LR`` (:func:`set_peak_lr`).

Before any of that, :func:`check_model_options` refuses training options a kind of model cannot follow, and
:func:`resume_lr` a checkpoint another config wrote.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from physml.training.config import TrainConfig

__all__ = [
    "TrainingDivergedError",
    "check_model_options",
    "nonfinite_loss",
    "nonfinite_weight",
    "resume_lr",
    "set_peak_lr",
]


class TrainingDivergedError(FloatingPointError):
    """A loss term, the gradient or a weight became NaN or infinite at ``step``; nothing of it was saved.

    The message names the step and what went non-finite, says which checkpoint
    is kept and suggests a learning rate ten times lower than ``lr``.

    Attributes
    ----------
    step
        The step that failed, numbered as in ``log.csv`` (the first step is 1).
    what
        What went non-finite: ``"loss term 'data'"``, ``"the total loss"``,
        ``"the gradient norm"`` or ``"weight 'lift.weight'"``.
    value
        Its value (``nan``, ``inf`` or ``-inf``).
    saved_step
        The step ``last`` holds, or ``None`` if no checkpoint was written.
    """

    def __init__(self, step: int, what: str, value: float, *, last: Path, saved_step: int | None, lr: float) -> None:
        self.step, self.what, self.value, self.saved_step = step, what, value, saved_step
        lower = f"--lr {lr / 10:.3g}"
        if saved_step is None:
            advice = f"no checkpoint was written; start again with a lower learning rate, e.g. {lower}"
        else:
            advice = f"{last} from step {saved_step} is kept; resume from it with a lower learning rate, e.g. {lower}"
        super().__init__(f"step {step}: {what} is {value} ({advice})")


def check_model_options(model: nn.Module, config: TrainConfig) -> None:
    """``ValueError`` naming the first training option ``model`` cannot follow: a generative model trains on one
    step of clean inputs (it draws its own noise levels); a continuous-time model integrates the state itself
    from one input step through every target time; a film is shown to a model that predicts the next state, and
    one that reads no fields cannot add its prediction to them."""
    name = config.model.name
    if getattr(model, "generative", False) and config.unroll > 1:
        raise ValueError(
            f"unroll = {config.unroll} is invalid for {name}: a generative model trains on "
            "one step (it learns the distribution of the next state, not a rollout); use unroll = 1"
        )
    if getattr(model, "generative", False) and config.input_noise > 0:
        raise ValueError(
            f"input_noise = {config.input_noise} is invalid for {name}: a generative model "
            "already trains on noised states (its own noise levels); use input_noise = 0"
        )
    watches = config.modalities.video is not None
    if watches and any(getattr(model, kind, False) for kind in ("generative", "continuous", "estimates_parameters")):
        raise ValueError(f"modalities.video is invalid for {name}: a film of the window is shown to a model that "
                         "predicts the next state from it (multimodal_transformer)")  # fmt: skip
    if watches and config.joint:
        raise ValueError("modalities.video is invalid for a joint run: each family would need its own camera")
    if config.model.residual and not getattr(getattr(model, "config", None), "read_fields", True):
        raise ValueError("model.residual = true is invalid with read_fields = false: the next state would be the "
                         "withheld field plus the output (the arrays would leak in); use residual: false")  # fmt: skip
    if not getattr(model, "continuous", False):
        return
    for key, value, wanted, why in (
        ("model.residual", config.model.residual, False, "the ODE's solution is the next state itself"),
        ("pushforward", config.pushforward, False, "one solve reaches every target time with full gradient"),
    ):
        if value != wanted:
            raise ValueError(f"{key} = {value!r} is invalid for {name}: must be {wanted!r} ({why})")


def resume_lr(saved: Any, current: Mapping[str, Any], *, lr_given: bool, last: Path) -> float:
    """The learning rate the checkpoint ``last`` was trained at; ``ValueError`` unless the run may resume from it.

    ``saved`` (the config in the checkpoint) must be ``current`` except for
    ``optim.lr``; a different rate needs ``lr_given`` (``--lr``), so that
    rerunning a command never changes the rate silently in either direction.
    """
    if _without_lr(_filled(saved)) != _without_lr(_filled(current)):
        raise ValueError(f"{last} was written by another training config; use a new --out or delete it")
    old, new = saved["optim"]["lr"], current["optim"]["lr"]
    if old != new and not lr_given:
        raise ValueError(
            f"{last} goes on at optim.lr = {old}, this config gives {new}: pass --lr {old} to go on as before, "
            f"or --lr {new} to take the config's"
        )
    return old


def _filled(config: Any) -> Any:
    """``config`` with every default filled in, so that a key added to the config since it was saved (at its
    default) does not count as a change; as given when it does not parse."""
    from physml.training.config import train_config_from_dict

    try:
        return train_config_from_dict(config).to_dict()
    except (ValueError, TypeError, AttributeError):
        return config


def _without_lr(config: Any) -> Any:
    if not isinstance(config, Mapping) or not isinstance(config.get("optim"), Mapping):
        return config
    return {**config, "optim": {**config["optim"], "lr": None}}


def nonfinite_loss(total: float, terms: Mapping[str, float]) -> tuple[str, float] | None:
    """The first non-finite loss term as ``("loss term 'NAME'", value)``, else the total if it is, else ``None``.

    A term is named before the total: the total of a NaN term is NaN too, and
    the term is what the user can act on. The total alone can overflow when
    every term is finite (a large weight times a large term).

    Examples
    --------
    >>> nonfinite_loss(float("nan"), {"data": 0.5, "schrodinger_norm": float("nan")})
    ("loss term 'schrodinger_norm'", nan)
    >>> nonfinite_loss(0.5, {"data": 0.5}) is None
    True
    """
    for name, value in terms.items():
        if not math.isfinite(value):
            return f"loss term {name!r}", value
    if not math.isfinite(total):
        return "the total loss", total
    return None


def nonfinite_weight(model: nn.Module) -> tuple[str, float] | None:
    """The first parameter holding a NaN or infinity as ``("weight 'NAME'", a bad value)``, else ``None``."""
    for name, parameter in model.named_parameters():
        bad = parameter.detach()[~torch.isfinite(parameter.detach())]
        if bad.numel():
            return f"weight {name!r}", float(bad[0])
    return None


def set_peak_lr(optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LambdaLR, lr: float) -> None:
    """Make ``lr`` the peak learning rate of a schedule restored from a checkpoint, from its current step on.

    The warm-up and cosine shape and the step reached are kept; every later
    learning rate is scaled by ``lr / old peak``. AdamW's moment estimates are
    kept too: they do not depend on the learning rate.
    """
    scheduler.base_lrs = [lr] * len(optimizer.param_groups)
    for group, factor in zip(optimizer.param_groups, scheduler.lr_lambdas):
        group["initial_lr"] = lr
        group["lr"] = lr * factor(scheduler.last_epoch)
