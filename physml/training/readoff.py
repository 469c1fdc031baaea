"""Physics read off a surrogate's rollouts: the quasinormal ringing of a black hole, fitted as the simulator's is.

:func:`qnm_readoff` rolls a trained ``near-horizon-1d`` surrogate from the first window of each trajectory to
the end of the file, extracts the waveform ``ψ(t, r*)`` at one radius, and fits the fundamental quasinormal
frequency with :func:`~physml.simulators.near_horizon.analyse_ringdown`, over the same window as the fit to the
simulator's own stored field. A continuous-time model answers at every save (also the ones between its
training steps); a discrete one at its ``time_stride``. Before the rollout starts the waveform is the data.

:func:`wave_energy_readoff` follows the Regge–Wheeler energy ``½ ∫ (π² + ψ'² + Vψ²) dr*`` of a wave
Hamiltonian model's own phase-space state (``q = ψ``, ``p = ψ̇``: ``momentum: encoded``, ``kinetic:
quadratic``) along its rollout, against the conserved energy the simulator stored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import DataLoader

from physml.models import HamiltonianODE
from physml.models.ode_solve import output_grid
from physml.training.continuous import dense_windows
from physml.training.surrogate import Surrogate

__all__ = ["QNMReadoff", "qnm_readoff", "state_energy", "wave_energy_readoff"]


@dataclass(frozen=True)
class QNMReadoff:
    """One trajectory's fundamental ``ω`` from the surrogate, from the simulator's data, and from Leaver's method.

    ``omega_model``: the least-damped oscillating mode of the fit to the model's waveform (what the analysis
    calls the fundamental); ``omega_model_nearest``: its oscillating mode nearest the simulator's fundamental
    (a model's error can add a weakly damped ringing of its own, which the first choice then reports).
    Both are NaN where the model's waveform holds no damped oscillation. ``window``: the fit's ``(t_start,
    t_end)`` (the simulator fit's); ``rollout_start``: the time the model took over. Errors are relative, per
    part: ``|Re ω_model / Re ω_ref - 1|`` and the same for ``Im``.
    """

    trajectory: int
    s: int
    l: int  # noqa: E741 (the multipole's conventional name)
    mass: float
    omega_model: complex
    omega_model_nearest: complex
    omega_simulator: complex
    omega_leaver: complex
    window: tuple[float, float]
    rollout_start: float

    @staticmethod
    def _error(value: complex, reference: complex) -> tuple[float, float]:
        return abs(value.real / reference.real - 1), abs(value.imag / reference.imag - 1)

    @property
    def error(self) -> tuple[float, float]:
        """The surrogate's fundamental against the simulator's: (Re, Im)."""
        return self._error(self.omega_model, self.omega_simulator)

    @property
    def nearest_error(self) -> tuple[float, float]:
        """The surrogate's mode nearest the simulator's fundamental, against it: (Re, Im)."""
        return self._error(self.omega_model_nearest, self.omega_simulator)

    @property
    def simulator_error(self) -> tuple[float, float]:
        """The simulator's fit against Leaver's continued fraction: the floor of what a rollout can show."""
        return self._error(self.omega_simulator, self.omega_leaver)

    def as_dict(self) -> dict[str, Any]:
        parts = {
            "omega_model": self.omega_model,
            "omega_simulator": self.omega_simulator,
            "omega_leaver": self.omega_leaver,
        }
        out: dict[str, Any] = {k: [v.real, v.imag] for k, v in parts.items()}
        out.update(trajectory=self.trajectory, s=self.s, l=self.l, mass=self.mass, window=list(self.window),
                   rollout_start=self.rollout_start, error=list(self.error), nearest_error=list(self.nearest_error),
                   simulator_error=list(self.simulator_error))  # fmt: skip
        return out


def _predict(surrogate: Surrogate, batch: dict[str, Any], stride: int, saves: int) -> tuple[torch.Tensor, np.ndarray]:
    """The model's states ``(B, K, C, *space)`` after the input and their offsets in saves ``(K,)``."""
    fields, constant = batch["input_fields"][:, ::stride], batch.get("constant_fields")
    if getattr(surrogate.model, "continuous", False):
        device = next(surrogate.model.parameters()).device
        times = batch["output_time"] - batch["input_time"][:, -1:]  # every save, one solve
        x = surrogate.format.inputs(fields, constant).to(device)
        return surrogate.model(x, times=times), np.arange(1, saves + 1)
    steps = saves // stride
    return surrogate.rollout(fields, constant, steps, batch), stride * np.arange(1, steps + 1)


@torch.no_grad()
def qnm_readoff(
    surrogate: Surrogate,
    path: str | os.PathLike[str],
    *,
    split: str | None = "test",
    extract_at: float = 10.0,
    window: tuple[float, float] | None = None,
    trajectories: int | None = None,
    n_modes: int = 3,
    n_exponentials: int = 2,
) -> list[QNMReadoff]:
    """The fundamental QNM fitted to the surrogate's waveform at ``r* = extract_at`` for each trajectory of ``split``.

    ``window``: the fit's ``(start, end)`` in units of the hole's mass after the waveform's peak (default: the
    analysis' own, from 10 M after the peak to the end of the data); the same for model and simulator.
    ``n_modes``, ``n_exponentials``: the fit's damped sinusoids and non-oscillating terms (as
    :func:`~physml.simulators.near_horizon.analyse_ringdown`); fewer resist a model's error floor better.
    ``trajectories``: the first that many of the split (default all). ``ValueError`` for a file of another
    family or an ``extract_at`` outside its grid.
    """
    from physml.simulators.near_horizon import analyse_ringdown, fit_damped_sinusoids, leaver_qnm

    with h5py.File(path, "r") as f:
        if "r_star" not in f["dimensions"] or "l" not in f["scalars"]:
            raise ValueError(f"{path}: not a near-horizon-1d file (no r_star grid or multipole l)")
        grid, n_times = f["dimensions/r_star"][:], f["dimensions/time"].shape[0]
        scalars = {k: f[f"scalars/{k}"][:] for k in ("s", "l", "mass")}
    if not grid[0] <= extract_at <= grid[-1]:
        raise ValueError(f"extract_at = {extract_at!r} is invalid: must lie in the grid, {grid[0]:g} .. {grid[-1]:g}")
    _check_count(trajectories)
    point = int(np.argmin(np.abs(grid - extract_at)))
    stride = surrogate.data.get("time_stride", 1)
    saves = n_times - 1 - (surrogate.data["n_input"] - 1) * stride  # every save after the input, to the end
    dataset = dense_windows(surrogate, path, split=split, saves=saves)
    count = len(dataset) if trajectories is None else min(trajectories, len(dataset))
    batch = next(iter(DataLoader(torch.utils.data.Subset(dataset, range(count)), batch_size=count)))
    predicted, offsets = _predict(surrogate, batch, stride, saves)
    psi = list(dataset.channel_names).index("psi")
    model = dataset.denormalize(predicted.cpu().double())[..., psi, point].numpy()  # (B, K) at the radius
    inputs = dataset.denormalize(batch["input_fields"].double())[..., psi, point].numpy()  # (B, n_in)
    truth = dataset.denormalize(batch["output_fields"].double())[..., psi, point].numpy()  # (B, saves)
    t_in, t_out = batch["input_time"].double().numpy(), batch["output_time"].double().numpy()
    spacing = 1 if getattr(surrogate.model, "continuous", False) else stride
    before = slice((t_in.shape[1] - 1) % spacing, None, spacing)  # input saves, ending at the last one
    results = []
    for b, index in enumerate(dataset.trajectories[:count]):
        s, ell, mass = int(scalars["s"][index]), int(scalars["l"][index]), float(scalars["mass"][index])
        t_sim, y_sim = np.concatenate([t_in[b], t_out[b]]), np.concatenate([inputs[b], truth[b]])
        peak = float(t_sim[np.argmax(np.abs(y_sim))])
        bounds = {} if window is None else {"t_start": peak + window[0] * mass, "t_end": peak + window[1] * mass}
        terms = {"n_modes": n_modes, "n_exponentials": n_exponentials}
        reference = analyse_ringdown(t_sim, y_sim, mass=mass, **bounds, **terms)
        # the data before the rollout at the model's own spacing (a discrete model steps `stride` saves)
        t_model = np.concatenate([t_in[b][before], t_out[b][offsets - 1]])
        y_model = np.concatenate([inputs[b][before], model[b]])
        inside = (t_model >= reference.t_start) & (t_model <= reference.t_end)  # as the simulator fit's window
        try:
            fit = fit_damped_sinusoids(t_model[inside], y_model[inside], **terms)
            modes = fit.omegas[fit.oscillating]  # least damped first; none if the model's waveform does not ring
        except ValueError:  # too few samples at the model's spacing, or a waveform that does not fit: no reading
            modes = np.zeros(0, dtype=complex)
        simulated = complex(reference.qnm.omega0)
        fundamental = complex(modes[0]) if modes.size else complex(np.nan, np.nan)
        nearest = complex(modes[np.argmin(np.abs(modes - simulated))]) if modes.size else fundamental
        results.append(
            QNMReadoff(
                trajectory=int(index), s=s, l=ell, mass=mass, omega_model=fundamental, omega_model_nearest=nearest,
                omega_simulator=simulated, omega_leaver=complex(leaver_qnm(s, ell, mass=mass)),
                window=(reference.t_start, reference.t_end), rollout_start=float(t_in[b, -1]),
            )
        )  # fmt: skip
    return results


@torch.no_grad()
def wave_energy_readoff(
    surrogate: Surrogate,
    path: str | os.PathLike[str],
    *,
    times: Sequence[float],
    split: str | None = "test",
    trajectories: int | None = None,
) -> dict[str, np.ndarray]:
    """The Regge–Wheeler energy of a wave Hamiltonian model's state at its input and ``times`` after, per trajectory.

    The model's ``(q, p)`` in physical units on the stored grid, by the simulator's own discrete energy
    (:func:`~physml.simulators.near_horizon.wave_energy`, fourth-order ``ψ''`` at the stored spacing), against
    the simulator's conserved energy (``scalars/energy``, over its whole causal domain): they agree while the
    wave is inside the stored window. Returns ``times`` ``(K + 1,)`` (from 0, the input's time), ``model``
    ``(N, K + 1)``, ``simulator`` ``(N,)``, ``relative`` = ``model / simulator - 1`` and ``learned_drift``,
    the relative change of the model's own ``H`` from the input.
    """
    model = surrogate.model
    cfg = getattr(model, "config", None)
    if not (isinstance(model, HamiltonianODE) and cfg.momentum == "encoded" and cfg.kinetic == "quadratic"):
        raise ValueError(f"{type(model).__name__} has no wave phase space: need hamiltonian_ode with momentum "
                         "'encoded' and kinetic 'quadratic' (p is then dψ/dt)")  # fmt: skip
    _check_count(trajectories)
    with h5py.File(path, "r") as f:
        if "energy" not in f["scalars"] or "r_star" not in f["dimensions"]:
            raise ValueError(f"{path}: not a near-horizon-1d file (no stored wave energy)")
        grid, stored, potential = f["dimensions/r_star"][:], f["scalars/energy"][:], f["t0_fields/potential"]
        dataset = surrogate.windows(path, split=split, n_output=1)
        count = len(dataset.trajectories) if trajectories is None else min(trajectories, len(dataset.trajectories))
        starts = [i * dataset.windows_per_trajectory for i in range(count)]
        chosen = dataset.trajectories[:count]
        potentials = np.stack([potential[int(i)] for i in chosen]).astype(np.float64)
    grid_times, _ = output_grid(torch.as_tensor(times, dtype=torch.float64) / cfg.time_scale, cfg.horizon)
    batch = next(iter(DataLoader(torch.utils.data.Subset(dataset, starts), batch_size=count)))
    device = next(model.parameters()).device
    x = surrogate.format.inputs(batch["input_fields"], batch.get("constant_fields")).float().to(device)
    q, p, constant = model.phase_space(x)
    qs, ps = model.flow(q, p, constant, grid_times)
    learned = torch.stack([model.hamiltonian(qk, pk, constant) for qk, pk in zip(qs, ps)], dim=1).double().cpu()
    h = float(grid[1] - grid[0])
    energy = np.stack([state_energy(dataset, qs[k].cpu(), ps[k].cpu(), potentials, time_scale=cfg.time_scale, h=h)
                       for k in range(len(qs))], axis=1)  # (B, K + 1)  # fmt: skip
    truth = stored[chosen, 0]
    return {"times": np.concatenate([[0.0], np.asarray(times, dtype=np.float64)]), "model": energy, "simulator": truth,
            "relative": energy / truth[:, None] - 1,
            "learned_drift": ((learned - learned[:, :1]) / learned[:, :1]).numpy()}  # fmt: skip


def _check_count(trajectories: int | None) -> None:
    if trajectories is not None and not (isinstance(trajectories, int) and trajectories >= 1):
        raise ValueError(f"trajectories = {trajectories!r} is invalid: must be an integer >= 1 (or None for all)")


def state_energy(
    dataset: Any, q: torch.Tensor, p: torch.Tensor, potential: np.ndarray, *, time_scale: float, h: float
) -> np.ndarray:
    """The Regge–Wheeler energy per sample ``(B,)`` of normalised model states ``q``, ``p`` ``(B, 1, X)``.

    ``ψ = q · scale + shift`` (the run's normalisation of ψ) and ``π = p · scale / time_scale`` (``p`` is
    ``dq/ds`` with ``s`` in the model's time unit, ``time_scale``; the shift does not move a rate), then the
    simulator's discrete energy on a grid of spacing ``h`` with ``potential`` ``(B, X)`` in physical units.
    """
    from physml.simulators.near_horizon.run import wave_energy

    psi = dataset.denormalize(q.double(), channel_dim=1)[:, 0].numpy()
    scale = float(dataset.normalization.scale[0]) if dataset.normalization is not None else 1.0
    pi = (p.double() * scale / time_scale)[:, 0].numpy()
    return np.array([wave_energy(psi[b], pi[b], potential[b], h) for b in range(len(psi))])
