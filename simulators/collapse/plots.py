"""Figures of critical behaviour: the mass-scaling law and the echoes of the central field (Agg, no display)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from physml.simulators.collapse.critical import REFERENCE_GAMMA, EchoEstimate, MassScaling
from physml.simulators.collapse.run import CollapseRun

__all__ = ["plot_echoes", "plot_mass_scaling", "plot_run"]


def _finish(figure: Figure, path: str | Path | None) -> Figure:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=120)
    return figure


def plot_mass_scaling(scaling: MassScaling, path: str | Path | None = None) -> Figure:
    """``ln M`` against ``ln(p - p*)`` with the fitted line and the reference slope 0.374.

    Returns the figure (saved to ``path`` when given).
    """
    figure = Figure(figsize=(5.0, 4.0))
    ax = figure.add_subplot()
    x, y = np.log(scaling.offsets), np.log(scaling.masses)
    ax.plot(x, y, "o", label="black holes")
    line = np.array([x.min(), x.max()])
    ax.plot(line, scaling.gamma * line + scaling.intercept, "-", label=f"fit γ = {scaling.gamma:.4f}")
    ax.plot(line, REFERENCE_GAMMA * (line - x.mean()) + y.mean(), "--", label=f"γ = {REFERENCE_GAMMA}")
    ax.set_xlabel("ln(p − p*)")
    ax.set_ylabel("ln M")
    ax.legend()
    return _finish(figure, path)


def plot_echoes(run: CollapseRun, estimate: EchoEstimate, path: str | Path | None = None) -> Figure:
    """The central φ and max 2m/r against ``τ = -ln(T* - T)``, with the zeros and extrema used marked.

    ``T*`` is the estimate's (without one, a little past the end of the run). Echoes of period Δ
    repeat every Δ in τ. Returns the figure (saved to ``path`` when given).
    """
    T = run.central["T"]
    t_star = estimate.t_star if np.isfinite(estimate.t_star) else T[-1] + 1e-6 * max(T[-1], 1.0)
    keep = t_star > T
    tau = -np.log(t_star - T[keep])
    figure = Figure(figsize=(6.0, 4.0))
    ax = figure.add_subplot()
    ax.plot(tau, run.central["phi_c"][keep], label="φ(T, 0)")
    ax.plot(tau, run.central["compactness"][keep], label="max 2m/r")
    for events, style in ((estimate.zeros, "-"), (estimate.extrema, ":")):
        for z in events[events < t_star]:
            ax.axvline(-np.log(t_star - z), color="0.7", lw=0.8, ls=style)
    ax.set_xlabel("τ = −ln(T* − T)")
    title = f"Δ ≈ {estimate.period:.3f}" if np.isfinite(estimate.period) else "too few echoes for Δ"
    ax.set_title(f"{run.data.describe()}: {title}", fontsize=8)
    ax.legend()
    return _finish(figure, path)


def plot_run(run: CollapseRun, path: str | Path | None = None) -> Figure:
    """A run at a glance: ``2m/r`` and ``φ`` at a few saves against ``r``, and the central lapse against ``t``."""
    figure = Figure(figsize=(13.0, 3.8))
    axes = figure.subplots(1, 3)
    r = run.grid.r
    frames = np.unique(np.linspace(0, len(run.t) - 1, 5).round().astype(int))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in frames:
            compactness = np.where(r > 0, 2 * run.fields["mass"][k] / r, 0.0)
            axes[0].plot(r, compactness, label=f"t = {run.t[k]:.3g}")
            axes[1].plot(r, run.fields["phi"][k], label=f"t = {run.t[k]:.3g}")
    axes[0].set(xlabel="r", ylabel="2m/r", title=f"{run.data.describe()}: {run.outcome}")
    axes[1].set(xlabel="r", ylabel="φ")
    axes[0].legend(fontsize=7)
    axes[2].semilogy(run.central["t"], run.central["alpha_c"])
    axes[2].set(xlabel="t", ylabel="central lapse α(t, 0)")
    return _finish(figure, path)
