"""Conditional denoising diffusion for next states: any registered denoiser, three objectives, two samplers, CFG, EMA.

:class:`Diffusion` generates the model output ``y`` (the next state, or its
increment under a residual :class:`~physml.models.FieldFormat`) given the
input channels ``x`` and, through a transformer denoiser, text and images.
Its denoiser is a registered network built with ``noise_embedding``: it reads
``cat([x, z])`` (``z`` the noised ``y``) and the noise level ``t``, and returns
``out``, whose meaning the ``objective`` sets:

* ``"v"`` / ``"eps"``: a variance-preserving diffusion over the cosine schedule
  (:func:`~physml.models.noise_schedule.cosine_ladder`), the network
  predicting the velocity ``v`` or the noise ``eps``; sampled from pure noise
  by DDIM (deterministic, ``eta = 0``) or ancestral DDPM (``eta = 1``) in any
  number of steps up to ``timesteps``;
* ``"refiner"``: PDE-Refiner (Lippe et al. 2023). Level 0 predicts ``y`` from a
  zero input with an MSE loss: the plain surrogate. Levels ``k = 1 .. K`` noise
  that prediction with ``sigma_k = sigma_min^(k/K)`` and the network predicts
  the noise: each refinement restores the low-amplitude (mostly high-frequency)
  content an MSE-trained network neglects. ``K + 1`` passes per prediction.

Training draws one level per sample (the refiner's level 0 with probability
``level0_share``, else evenly); ``forward(x, target=y)`` returns the
loss and the clean estimate it implies (on which physics losses are
evaluated). ``forward(x)`` samples, with the EMA weights in eval mode.
Classifier-free guidance: in training each sample drops its text and image
(the transformer's modality dropout) or its parameter vector (the U-Net's)
with probability ``cond_dropout``; at inference ``guidance = w`` mixes
``uncond + w (cond - uncond)``. With ``in_channels = 0`` nothing but the
condition is read: text-to-image (or parameters-to-image) generation.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from physml.errors import UnstableRunError
from physml.models import noise_schedule as schedule
from physml.models.registry import build_model, config_fields, register_model

__all__ = ["DENOISERS", "Denoised", "Diffusion", "DiffusionConfig", "Sampling"]

OBJECTIVES = ("v", "eps", "refiner")
SAMPLERS = {"ddim": 0.0, "ddpm": 1.0}  # sampler -> eta
#: Networks that take a noise level (``noise_embedding``), and which of them read text and images.
DENOISERS = ("unet", "fno", "multimodal_transformer")
_MULTIMODAL = "multimodal_transformer"
#: Keys of the denoiser's config that the diffusion model sets itself.
_OWN_KEYS = ("in_channels", "out_channels", "noise_embedding", "field_size", "modalities", "missing_ok",
             "modality_dropout", "vocab_size", "text_length", "image_channels", "image_size", "parameter_dim",
             "parameter_dropout")  # fmt: skip


@dataclass(frozen=True)
class DiffusionConfig:
    """A :class:`Diffusion` model: its denoiser, objective, schedule, sampling defaults and EMA.

    ``in_channels`` / ``out_channels`` are the conditioning and generated channels; the
    denoiser reads both (``in_channels = 0``: generation from text or parameters alone).
    ``parameter_dim``: a vector of physical parameters conditions a denoiser that takes one
    (the U-Net), dropped like text and image with ``cond_dropout``. ``field_size`` and the
    modality keys are filled in from the data and passed to the denoiser where its config has them.
    ``target_scale`` divides the target before noising (diffusion assumes unit-variance
    samples: a residual increment is far smaller). ``level0_share``: how often a refiner trains
    its plain prediction (``None``: as often as each refinement level, ``1 / (K + 1)``).
    ``sampler``, ``sample_steps``, ``guidance`` and ``refinement_steps`` are defaults that
    :meth:`Diffusion.configure_sampling` may change at inference. ``ema_decay = 0`` keeps no EMA.
    """

    in_channels: int
    out_channels: int
    denoiser: str = "unet"
    denoiser_params: dict[str, Any] = field(default_factory=dict)
    field_size: tuple[int, ...] = ()
    modalities: tuple[str, ...] = ()
    missing_ok: tuple[str, ...] = ()
    vocab_size: int = 512
    text_length: int = 64
    image_channels: int = 3
    image_size: tuple[int, int] = (32, 32)
    parameter_dim: int = 0
    objective: str = "v"
    timesteps: int = 1000
    refinement_steps: int = 3
    sigma_min: float = 1e-3
    level0_share: float | None = None
    target_scale: float = 1.0
    cond_dropout: float = 0.1
    sampler: str = "ddim"
    sample_steps: int = 16
    guidance: float = 1.0
    ema_decay: float = 0.995

    def __post_init__(self) -> None:
        for name in ("field_size", "modalities", "missing_ok", "image_size"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        for name in ("out_channels", "timesteps", "refinement_steps", "sample_steps"):
            self._check(isinstance(getattr(self, name), int) and getattr(self, name) >= 1, name, "an integer >= 1")
        for name in ("in_channels", "parameter_dim"):
            self._check(isinstance(getattr(self, name), int) and getattr(self, name) >= 0, name, "an integer >= 0")
        self._check(self.denoiser in DENOISERS, "denoiser", f"one of {', '.join(DENOISERS)}")
        self._check(isinstance(self.denoiser_params, Mapping), "denoiser_params", "a mapping of config values")
        own = sorted(set(self.denoiser_params) & set(_OWN_KEYS))
        self._check(not own, "denoiser_params", f"free of {own} (the diffusion model sets them)")
        self._check(self.objective in OBJECTIVES, "objective", f"one of {', '.join(OBJECTIVES)}")
        self._check(0 < self.sigma_min < 1, "sigma_min", "in (0, 1)")
        share = self.level0_share
        self._check(share is None or (self.objective == "refiner" and isinstance(share, int | float) and 0 < share < 1),
                    "level0_share", "null, or in (0, 1) with objective refiner")  # fmt: skip
        self._check(self.target_scale > 0, "target_scale", "> 0")
        self._check(0 <= self.cond_dropout < 1, "cond_dropout", "in [0, 1)")
        self._check(self.sampler in SAMPLERS, "sampler", f"one of {', '.join(SAMPLERS)}")
        self._check(self.sample_steps <= self.timesteps, "sample_steps", f"<= timesteps = {self.timesteps}")
        self._check(self.guidance >= 0, "guidance", ">= 0")
        self._check(0 <= self.ema_decay < 1, "ema_decay", "in [0, 1)")
        self._check(not self.modalities or self.denoiser == _MULTIMODAL, "modalities",
                    f"empty for denoiser {self.denoiser!r}, which reads fields only (use {_MULTIMODAL})")  # fmt: skip
        self._check(not self.parameter_dim or "parameter_dim" in config_fields(self.denoiser), "parameter_dim",
                    f"0 for denoiser {self.denoiser!r}, which takes no parameter vector (use unet)")  # fmt: skip

    def _check(self, ok: bool, name: str, allowed: str) -> None:
        if not ok:
            raise ValueError(f"DiffusionConfig.{name} = {getattr(self, name)!r} is invalid: must be {allowed}")

    def denoiser_config(self) -> dict[str, Any]:
        """The denoiser's config values: ``denoiser_params`` plus the channels, grid and modalities."""
        known = config_fields(self.denoiser)
        values: dict[str, Any] = {
            "in_channels": self.in_channels + self.out_channels,
            "out_channels": self.out_channels,
            "noise_embedding": True,
            "field_size": self.field_size,
        }
        if self.parameter_dim:
            values |= {"parameter_dim": self.parameter_dim, "parameter_dropout": self.cond_dropout}
        if self.denoiser == _MULTIMODAL:
            values |= {"modalities": self.modalities, "missing_ok": self.missing_ok,
                       "modality_dropout": self.cond_dropout, "vocab_size": self.vocab_size,
                       "text_length": self.text_length, "image_channels": self.image_channels,
                       "image_size": self.image_size}  # fmt: skip
        return {**self.denoiser_params, **{k: v for k, v in values.items() if k in known}}


@dataclass(frozen=True)
class Sampling:
    """How :meth:`Diffusion.forward` samples: ``sampler`` (ddim/ddpm), ``sample_steps``, ``guidance``,
    ``refinement_steps`` (the config's names; its values are the defaults)."""

    sampler: str
    sample_steps: int
    guidance: float
    refinement_steps: int


class Denoised(NamedTuple):
    """A training step's result: the denoising ``loss`` and the clean ``estimate`` ``(B, C_out, *space)``."""

    loss: torch.Tensor
    estimate: torch.Tensor


@register_model("diffusion", DiffusionConfig)
class Diffusion(nn.Module):
    """Generate ``y`` ``(B, C_out, *space)`` given ``x`` ``(B, C_in, *space)`` (and text, image): see the module doc.

    ``forward(x, *, target=None, text=None, image=None)``: with ``target``, a
    :class:`Denoised` (loss, clean estimate) for training; without, a sample.

    Examples
    --------
    >>> model = Diffusion(DiffusionConfig(3, 2, field_size=(32,), denoiser_params={"width": 8, "multipliers": [1, 2]}))
    >>> model(torch.randn(4, 3, 32)).shape
    torch.Size([4, 2, 32])
    """

    #: The trainer asks the model for its loss (``target=``) instead of comparing its output with the target.
    generative = True

    def __init__(self, config: DiffusionConfig) -> None:
        super().__init__()
        self.config = config
        self.denoiser = build_model(config.denoiser, config.denoiser_config())
        self.ema = copy.deepcopy(self.denoiser).requires_grad_(False) if config.ema_decay > 0 else None
        self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))
        if config.objective == "refiner":
            ladder = schedule.refiner_ladder(config.refinement_steps, config.sigma_min)
        else:
            ladder = schedule.cosine_ladder(config.timesteps)
        self.register_buffer("ladder", ladder, persistent=False)  # (levels + 1, 2): (a, s); fixed by the config
        self.sampling = Sampling(config.sampler, config.sample_steps, config.guidance, config.refinement_steps)

    @property
    def levels(self) -> int:
        """The highest noise level index: ``timesteps``, or ``K`` for the refiner."""
        return len(self.ladder) - 1

    # -- inference settings ------------------------------------------------------------------
    def configure_sampling(
        self,
        *,
        sampler: str | None = None,
        sample_steps: int | None = None,
        guidance: float | None = None,
        refinement_steps: int | None = None,
    ) -> Sampling:
        """Change how :meth:`forward` samples; returns the settings now in force."""
        s, cfg = self.sampling, self.config
        new = Sampling(
            s.sampler if sampler is None else sampler,
            s.sample_steps if sample_steps is None else sample_steps,
            s.guidance if guidance is None else guidance,
            s.refinement_steps if refinement_steps is None else refinement_steps,
        )
        if new.sampler not in SAMPLERS:
            raise ValueError(f"sampler = {new.sampler!r} is invalid: choose one of {', '.join(SAMPLERS)}")
        steps = new.sample_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= cfg.timesteps:
            raise ValueError(f"sample_steps = {steps!r} is invalid: sampling steps must be 1 .. {cfg.timesteps}")
        if isinstance(new.guidance, bool) or not isinstance(new.guidance, int | float) or not new.guidance >= 0:
            raise ValueError(f"guidance = {new.guidance!r} is invalid: must be a number >= 0")
        k = new.refinement_steps
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= cfg.refinement_steps:
            raise ValueError(
                f"refinement_steps = {k!r} is invalid: must be 0 .. {cfg.refinement_steps} (the K trained)"
            )
        if new.guidance != 1 and not ((cfg.modalities or cfg.parameter_dim) and cfg.cond_dropout > 0):
            raise ValueError(
                f"guidance = {new.guidance} is invalid: this model was not trained with a condition to drop "
                f"(modalities = {list(cfg.modalities)}, parameter_dim = {cfg.parameter_dim}, "
                f"cond_dropout = {cfg.cond_dropout}); use guidance = 1"
            )
        self.sampling = new
        return new

    # -- training ------------------------------------------------------------------------------
    def after_step(self) -> None:
        """Move the EMA weights toward the trained ones (called by the trainer after each optimiser step).

        The decay ramps up as ``min(ema_decay, (1 + n) / (10 + n))`` over the first updates, so the
        average forgets the random initial weights quickly.
        """
        if self.ema is None:
            return
        n = int(self.ema_updates) + 1
        decay = min(self.config.ema_decay, (1 + n) / (10 + n))
        with torch.no_grad():
            for average, current in zip(self.ema.parameters(), self.denoiser.parameters()):
                average.lerp_(current, 1 - decay)
            for average, current in zip(self.ema.buffers(), self.denoiser.buffers()):
                average.copy_(current)
        self.ema_updates.fill_(n)

    def _loss(self, x: torch.Tensor, target: torch.Tensor, context: dict[str, torch.Tensor]) -> Denoised:
        cfg, B = self.config, x.shape[0]
        y = target / cfg.target_scale
        low = 0 if cfg.objective == "refiner" else 1  # the refiner's level 0 is the plain prediction
        k = torch.randint(low, self.levels + 1, (B,), device=x.device)
        if cfg.level0_share is not None:  # the plain prediction drawn this often, the refinements evenly otherwise
            plain = torch.rand(B, device=x.device) < cfg.level0_share
            k = torch.where(plain, 0, torch.randint(1, self.levels + 1, (B,), device=x.device))
        eps = torch.randn_like(y)
        level = self.ladder[k]  # (B, 2)
        if cfg.objective == "refiner":
            plain = (k == 0).view(-1, *([1] * (y.ndim - 1)))
            # level 0 (a = 0) takes zeros and predicts y; the clean branch gets a finite stand-in level there
            level = torch.where((k == 0)[:, None], self.ladder[-1:].expand_as(level), level)
            z = torch.where(plain, torch.zeros_like(y), schedule.noised(y, eps, level))
            out = self._network(self.denoiser, x, z, self._level_input(k), context)
            loss = F.mse_loss(out, torch.where(plain, y, eps))
            clean = torch.where(plain, out, schedule.predicted_clean(z, out, level, "eps"))
        else:
            z = schedule.noised(y, eps, level)
            out = self._network(self.denoiser, x, z, self._level_input(k), context)
            goal = schedule.velocity(y, eps, level) if cfg.objective == "v" else eps
            loss = F.mse_loss(out, goal)
            clean = schedule.predicted_clean(z, out, level, cfg.objective)
        return Denoised(loss, clean * cfg.target_scale)

    # -- the network -----------------------------------------------------------------------
    def _level_input(self, k: torch.Tensor) -> torch.Tensor:
        """The noise level ``t`` in [0, 1] (larger: noisier) the denoiser hears for level indices ``k``."""
        if self.config.objective == "refiner":
            return (self.levels - k).float() / self.levels  # level 0 (plain prediction): t = 1
        return k.float() / self.levels

    def _network(
        self, net: nn.Module, x: torch.Tensor, z: torch.Tensor, t: torch.Tensor, context: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        return net(torch.cat([x, z.to(x.dtype)], dim=1), noise=t, **context).to(z.dtype)

    def _guided(
        self, net: nn.Module, x: torch.Tensor, z: torch.Tensor, t: torch.Tensor, context: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        w = self.sampling.guidance
        conditional = self._network(net, x, z, t, context)
        if w == 1 or not context:
            return conditional
        unconditional = self._network(net, x, z, t, {})
        return unconditional + w * (conditional - unconditional)

    # -- sampling --------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, x: torch.Tensor, *, initial: torch.Tensor | None = None, **context: torch.Tensor) -> torch.Tensor:
        """A sample of ``y`` given ``x``, with the settings of :attr:`sampling` (EMA weights in eval mode).

        ``initial``: the starting noise ``(B, C_out, *space)`` of the diffusion objectives (drawn when
        ``None``); with the deterministic DDIM sampler the sample is a function of it.
        """
        cfg, s = self.config, self.sampling
        if s.guidance != 1 and not context:
            raise ValueError(f"guidance = {s.guidance} needs the model's text, image or parameters: none was given")
        net = self.ema if self.ema is not None and not self.training else self.denoiser
        B = x.shape[0]
        shape = (B, cfg.out_channels, *x.shape[2:])

        def level(k: int) -> torch.Tensor:  # (B,) level indices
            return torch.full((B,), k, dtype=torch.long, device=x.device)

        if cfg.objective == "refiner":
            y = self._guided(net, x, torch.zeros(shape, device=x.device, dtype=x.dtype), self._level_input(level(0)),
                             context)  # fmt: skip
            for k in range(1, s.refinement_steps + 1):
                pairs = self.ladder[level(k)]
                z = schedule.noised(y, torch.randn_like(y), pairs)
                out = self._guided(net, x, z, self._level_input(level(k)), context)
                y = _finite(
                    schedule.predicted_clean(z, out, pairs, "eps"), k, f"refinement step {k} of {s.refinement_steps}"
                )
            return y * cfg.target_scale
        z = torch.randn(shape, device=x.device, dtype=x.dtype) if initial is None else initial.to(x.dtype)
        levels = torch.linspace(self.levels, 0, s.sample_steps + 1).round().long().tolist()
        for i, (k, k_next) in enumerate(itertools.pairwise(levels)):
            pairs = self.ladder[level(k)]
            out = self._guided(net, x, z, self._level_input(level(k)), context)
            clean = schedule.predicted_clean(z, out, pairs, cfg.objective)
            z = schedule.ddim_step(z, clean, pairs, self.ladder[level(k_next)], eta=SAMPLERS[s.sampler])
            z = _finite(z, i + 1, f"sampling step {i + 1} of {s.sample_steps}")
        return z * cfg.target_scale

    def forward(
        self, x: torch.Tensor, *, target: torch.Tensor | None = None, **context: torch.Tensor
    ) -> torch.Tensor | Denoised:
        context = {k: v for k, v in context.items() if v is not None}
        if target is not None:
            return self._loss(x, target, context)
        return self.sample(x, **context)


def _finite(z: torch.Tensor, step: int, what: str) -> torch.Tensor:
    """``z``, or an :class:`~physml.errors.UnstableRunError` naming the step that made it non-finite."""
    if not bool(torch.isfinite(z).all()):
        raise UnstableRunError(
            f"the diffusion sample diverged (NaN or inf) at {what} {step}", step=step, t=float("nan")
        )
    return z
