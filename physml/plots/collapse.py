"""Figures of collapse runs and of critical behaviour: a run at a glance, the mass-scaling law, the echoes,
and the fitted laws of ``physml discover critical``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from physml.plots import save

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from physml.datasets.simulate import SimulatedRun
    from physml.discovery.critical import CriticalLaws
    from physml.simulators.collapse.critical import EchoEstimate, MassScaling
    from physml.simulators.collapse.run import CollapseRun

__all__ = ["plot_critical_laws", "plot_echoes", "plot_mass_scaling", "plot_run"]


def _figure(size: tuple[float, float]) -> Figure:
    """A figure outside pyplot's registry (drawn with Agg), for functions that return it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure


def _finish(figure: Figure, path: str | os.PathLike[str] | None) -> Figure:
    figure.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=120)
    return figure


def plot_run(run: SimulatedRun, path: str | os.PathLike[str]) -> Path:
    """A ``collapse`` run at a glance: ``2m/r`` and ``φ`` at a few saves against ``r``, and the central lapse
    against ``t``."""
    from physml.plots import pyplot

    plt = pyplot()
    fields, scalars, times = run.trajectory.fields, run.trajectory.scalars, run.times
    r = run.layout.axes["r"]
    fig, axes = plt.subplots(1, 3, figsize=(13.0, 3.8), constrained_layout=True)
    frames = np.unique(np.linspace(0, len(times) - 1, 5).round().astype(int))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in frames:
            axes[0].plot(r, np.where(r > 0, 2 * fields["mass_function"][k] / r, 0.0), label=f"t = {times[k]:.3g}")
            axes[1].plot(r, fields["phi"][k], label=f"t = {times[k]:.3g}")
    formed = scalars["black_hole"] > 0
    outcome = f"black hole by t = {times[formed.argmax()]:.4g}" if formed.any() else "dispersal"
    axes[0].set(xlabel="r", ylabel="2m/r", title=f"{run.family.data(run.params).describe()}: {outcome}")
    axes[1].set(xlabel="r", ylabel="φ")
    axes[0].legend(fontsize=7)
    axes[2].semilogy(times, scalars["central_lapse"])
    axes[2].set(xlabel="t", ylabel="central lapse α(t, 0)")
    return save(fig, path)


def plot_mass_scaling(scaling: MassScaling, path: str | os.PathLike[str] | None = None) -> Figure:
    """``ln M`` against ``ln(p - p*)`` with the fitted line and the reference slope 0.374.

    Returns the figure (saved to ``path`` when given).
    """
    from physml.simulators.collapse.critical import REFERENCE_GAMMA

    figure = _figure((5.0, 4.0))
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


def plot_echoes(run: CollapseRun, estimate: EchoEstimate, path: str | os.PathLike[str] | None = None) -> Figure:
    """The central φ and max 2m/r against ``τ = -ln(T* - T)``, with the zeros and extrema used marked.

    ``T*`` is the estimate's (without one, a little past the end of the run). Echoes of period Δ
    repeat every Δ in τ. Returns the figure (saved to ``path`` when given).
    """
    T = run.central["T"]
    t_star = estimate.t_star if np.isfinite(estimate.t_star) else T[-1] + 1e-6 * max(T[-1], 1.0)
    keep = t_star > T
    tau = -np.log(t_star - T[keep])
    figure = _figure((6.0, 4.0))
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


def plot_critical_laws(laws: CriticalLaws, path: str | os.PathLike[str] | None = None) -> Figure:
    """Left: ``ln M - γx - c`` of the line + wiggle fit against ``x = ln(p - p*)``, with the fitted wiggle and
    the plain line's residuals. Right: ``ln(T* - T_k) + kΔ_published/2`` of the zeros of the central field of
    both ends of the bracket against ``k``, with each fitted echo law (flat where Δ is the published one).
    Returns the figure (saved to ``path`` when given).
    """
    from physml.simulators.collapse.critical import REFERENCE_ECHOING_PERIOD

    s = laws.scaling
    figure = _figure((11.0, 4.8))
    left, right = figure.subplots(1, 2)
    x, y = np.log(s.offsets), np.log(s.masses)
    fine = np.linspace(x.min(), x.max(), 400)
    line = np.polyfit(x, y, 1)
    left.plot(x, y - np.polyval(line, x), "x", color="0.6", ms=4, label=f"line residuals (γ = {s.line_gamma:.4f})")
    left.plot(x, y - s.gamma * x - s.intercept, "o", ms=4, label="ln M − γx − c (line + wiggle)")
    label = f"wiggle: ϖ = {s.period:.3f} ± {s.period_error:.3f}, Δ = 2γϖ = {s.delta:.3f} ± {s.delta_error:.3f}"
    left.plot(fine, s.wiggle(fine), "-", label=label + ("" if s.identifiable else " (not identifiable)"))
    left.set(xlabel="x = ln(p − p*)", ylabel="ln M residual", title=f"γ = {s.gamma:.4f} ± {s.gamma_error:.4f}")
    left.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    for law, marker, name in ((laws.echoes, "o", "subcritical"), (laws.echoes_check, "s", "supercritical")):
        if law is None or not np.isfinite(law.delta):
            continue
        k = np.arange(len(law.zeros))
        detrend = 0.5 * REFERENCE_ECHOING_PERIOD * k
        (dots,) = right.plot(k, np.log(law.t_star - law.zeros) + detrend, marker, label=f"{name} end")
        right.plot(k, np.log(law.scale) - 0.5 * law.delta * k + detrend, "-", color=dots.get_color(),
                   label=f"Δ = {law.delta:.4f} ± {law.delta_error:.4f}")  # fmt: skip
    right.set(xlabel="zero k of φ(T, 0)", ylabel=f"ln(T* − T_k) + {REFERENCE_ECHOING_PERIOD} k / 2",
              title="echo law T* − T_k = B exp(−kΔ/2), detrended")  # fmt: skip
    if right.lines:
        right.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    else:
        right.text(0.5, 0.5, f"no echo law:\n{laws.echoes.reason}", ha="center", transform=right.transAxes)
    return _finish(figure, path)
