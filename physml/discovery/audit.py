"""The surrogate audit: PDE-FIND on a trained model's rollouts, next to the same fit on the simulator's data.

A surrogate that has learned the Schrödinger equation produces rollouts that
*satisfy* it: the weak-form fit on them should return ``±ħ/2m`` and ``±1/ħ`` on
the right terms and nothing else. Where it has learned pixels instead, the fit
shows it as wrong coefficients and spurious terms (diffusion, dispersion, a
phase drift ``i c ψ``) — a physical score that nRMSE does not give.
:func:`audit_surrogate` rolls the model out from each trajectory's first saves
over the whole file, reads the wave function back in physical units, and fits
it and the simulator's own trajectories with the same settings.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from physml.discovery.schrodinger import Discovery, WaveFunctions, discover_schrodinger, read_wave_functions

__all__ = ["Audit", "audit_surrogate"]


@dataclass(frozen=True)
class Audit:
    """The fit on the surrogate's rollouts (``model``) and on the simulator's trajectories (``data``)."""

    model: Discovery
    data: Discovery
    checkpoint: str
    rollout_steps: int

    def to_dict(self) -> dict[str, Any]:
        return {"checkpoint": self.checkpoint, "rollout_steps": self.rollout_steps,
                "model": self.model.to_dict(), "data": self.data.to_dict()}  # fmt: skip


@torch.no_grad()
def audit_surrogate(
    checkpoint: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    split: str | None = "test",
    trajectories: int | None = None,
    device: str = "cpu",
    **fit: Any,
) -> Audit:
    """Roll the model of ``checkpoint`` out over ``path``'s ``split`` (its first ``trajectories``) and fit both.

    ``fit``: :func:`~physml.discovery.schrodinger.discover_schrodinger`'s settings (``form``, ``bootstrap``...).
    """
    from physml.datasets import read_info
    from physml.discovery.schrodinger import check_settings
    from physml.training.surrogate import load_surrogate
    from physml.training.trainer import resolve_device

    known = ("form", "noise", "max_order", "threshold", "bootstrap", "seed")
    check_settings(trajectories=trajectories, **{k: v for k, v in fit.items() if k in known})
    device = str(resolve_device(device))
    surrogate = load_surrogate(checkpoint, device=device)
    n_input = surrogate.format.n_input
    info = read_info(path)
    steps = info.n_times - n_input
    if steps < 1:
        raise ValueError(f"{path} has {info.n_times} saves: nothing to roll out after {n_input} input step(s)")
    windows = surrogate.windows(path, split=split, n_output=steps, window_stride=info.n_times)  # one per trajectory
    names = windows.channel_names
    if not {"psi_real", "psi_imag"} <= set(names):
        raise ValueError(f"{checkpoint} predicts {names}: the audit needs psi_real and psi_imag")
    real, imag = names.index("psi_real"), names.index("psi_imag")
    truth = read_wave_functions(path, split=split, trajectories=trajectories)
    count = len(truth.trajectories)
    rollouts = []
    dev = torch.device(device)
    for batch in DataLoader(torch.utils.data.Subset(windows, range(count)), batch_size=16):
        fields = batch["input_fields"].to(dev)
        constant = batch.get("constant_fields")
        predicted = surrogate.rollout(fields, None if constant is None else constant.to(dev), steps, batch)
        series = torch.cat([batch["input_fields"].double(), predicted.cpu().double()], dim=1)  # (B, times, C, *space)
        series = windows.denormalize(series)
        rollouts.append((series[:, :, real] + 1j * series[:, :, imag]).numpy())
    psi = np.concatenate(rollouts)
    if psi.shape != truth.psi.shape:
        raise ValueError(f"rollouts {psi.shape} and stored trajectories {truth.psi.shape} do not line up")
    model = WaveFunctions(psi, truth.potential, truth.times, truth.axes, truth.hbar, truth.mass, truth.trajectories)
    audited = dataclasses.replace(discover_schrodinger(model, **fit), source=f"rollouts of {checkpoint} on {path}")
    data = dataclasses.replace(discover_schrodinger(truth, **fit), source=str(path))
    return Audit(audited, data, str(checkpoint), steps)
