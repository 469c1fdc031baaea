"""Variance-preserving noise schedules: noising, the network's targets, and the DDIM/DDPM update.

A clean sample ``y`` is noised to ``z = a y + s eps`` with ``eps ~ N(0, I)``,
``a = sqrt(ab)`` and ``s = sqrt(1 - ab)``, so ``z`` keeps unit variance when
``y`` has it. ``ab`` (alpha bar) falls from 1 (clean) to ~0 (pure noise) as
the level ``t`` goes from 0 to 1. A ladder of levels is stored as the pairs
``(a, s)``, each computed in float64 from its own formula: PDE-Refiner's
smallest noise ``s = 1e-7`` would vanish as ``sqrt(1 - ab)`` once ``ab`` were
rounded to float32 (``1 - 1e-14 == 1``).

Two ladders share these formulas:

* :func:`cosine_ladder`, the cosine schedule of improved DDPM over
  ``timesteps`` levels, for sampling from noise;
* :func:`refiner_ladder`, PDE-Refiner's ``K + 1`` levels: level 0 is pure
  noise (the plain prediction), level ``k`` has noise ``s = sigma_min^(k / K)``.

Written here rather than taken from ``diffusers``: the whole of it is the few
formulas below, while ``import diffusers`` costs 2.5 s and its schedulers keep
sampling state in the object and index levels by integer timestep only,
where the refiner needs its own ladder and the evaluation any step count.
"""

from __future__ import annotations

import math

import torch

__all__ = ["cosine_alpha_bar", "cosine_ladder", "ddim_step", "noised", "predicted_clean", "predicted_noise",
           "refiner_ladder", "velocity"]  # fmt: skip

#: Smallest alpha bar of the cosine ladder: its last level keeps a signal-to-noise ratio of 1e-6, so
#: noise prediction can still name a clean sample (at exactly 0 it could not).
ALPHA_BAR_FLOOR = 1e-6


def cosine_alpha_bar(timesteps: int, *, offset: float = 0.008) -> torch.Tensor:
    """``(timesteps + 1,)`` float64: alpha bar at levels ``k = 0 .. timesteps`` (``t = k / timesteps``).

    ``cos^2(pi/2 (t + s) / (1 + s))`` normalised to 1 at ``t = 0`` (Nichol & Dhariwal's cosine schedule,
    ``s = offset``), floored at :data:`ALPHA_BAR_FLOOR`. Strictly decreasing.
    """
    t = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos(0.5 * math.pi * (t + offset) / (1 + offset)) ** 2
    return (f / f[0]).clamp(min=ALPHA_BAR_FLOOR)


def cosine_ladder(timesteps: int) -> torch.Tensor:
    """``(timesteps + 1, 2)`` float64: ``(a, s)`` of :func:`cosine_alpha_bar`'s levels."""
    alpha_bar = cosine_alpha_bar(timesteps)
    return torch.stack([alpha_bar.sqrt(), (1 - alpha_bar).sqrt()], dim=1)


def refiner_ladder(refinement_steps: int, sigma_min: float) -> torch.Tensor:
    """``(K + 1, 2)`` float64: ``(a, s)`` of PDE-Refiner's levels, ``s = sigma_min^(k/K)``, ``a = sqrt(1 - s^2)``.

    Level 0 has ``s = 1``, ``a = 0``: the input carries no trace of the target.
    """
    k = torch.arange(refinement_steps + 1, dtype=torch.float64)
    sigma = sigma_min ** (k / max(refinement_steps, 1))
    return torch.stack([(1 - sigma**2).clamp(min=0).sqrt(), sigma], dim=1)


def _view(level: torch.Tensor, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, 2)`` pairs ``(a, s)`` -> two tensors broadcastable against ``like`` ``(B, C, *space)``."""
    shape = (-1, *([1] * (like.ndim - 1)))
    level = level.to(like.dtype)
    return level[:, 0].view(shape), level[:, 1].view(shape)


def noised(clean: torch.Tensor, noise: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """``a clean + s noise``, with ``level`` the ``(B, 2)`` pairs ``(a, s)``."""
    a, s = _view(level, clean)
    return a * clean + s * noise


def velocity(clean: torch.Tensor, noise: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """The v-prediction target ``a noise - s clean`` (Salimans & Ho 2022)."""
    a, s = _view(level, clean)
    return a * noise - s * clean


def predicted_clean(z: torch.Tensor, output: torch.Tensor, level: torch.Tensor, objective: str) -> torch.Tensor:
    """The clean sample a network ``output`` implies for noised ``z`` (``objective``: ``"v"`` or ``"eps"``)."""
    a, s = _view(level, z)
    if objective == "v":
        return a * z - s * output  # a^2 + s^2 = 1
    return (z - s * output) / a


def predicted_noise(z: torch.Tensor, clean: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    """The noise that takes ``clean`` to ``z``: ``(z - a clean) / s``."""
    a, s = _view(level, z)
    return (z - a * clean) / s.clamp(min=1e-30)


def ddim_step(
    z: torch.Tensor,
    clean: torch.Tensor,
    level: torch.Tensor,
    level_next: torch.Tensor,
    *,
    eta: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """From ``level`` to the less noisy ``level_next`` (``(B, 2)`` pairs each), given the clean estimate.

    The DDIM update of Song et al. (2021): ``eta = 0`` is deterministic; ``eta = 1``
    is ancestral DDPM sampling on this ladder of levels. At ``s_next = 0`` it returns ``clean``.
    """
    eps = predicted_noise(z, clean, level)
    a, s = _view(level, z)
    a_next, s_next = _view(level_next, z)
    # sigma^2 = eta^2 (s_next / s)^2 (1 - a^2 / a_next^2): the posterior variance, scaled by eta
    sigma = eta * (s_next / s.clamp(min=1e-30)) * (1 - (a / a_next.clamp(min=1e-30)) ** 2).clamp(min=0).sqrt()
    out = a_next * clean + (s_next**2 - sigma**2).clamp(min=0).sqrt() * eps
    if eta > 0:
        out = out + sigma * torch.randn(z.shape, generator=generator, dtype=z.dtype, device=z.device)
    return out
