"""Figures of Schrödinger runs: density in space-time (1D) or snapshots (2D), and the conserved quantities."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from physml.plots import pyplot, save

if TYPE_CHECKING:
    from physml.datasets.simulate import SimulatedRun

__all__ = ["plot_run"]


def _observable_panel(ax, times: np.ndarray, scalars: dict[str, np.ndarray]) -> None:
    norm, energy = scalars["norm"], scalars["energy"]
    ax.semilogy(times, np.abs(norm - norm[0]) + 1e-17, label="|norm(t) - norm(0)|")
    ax.semilogy(times, np.abs(energy - energy[0]) / max(abs(energy[0]), 1e-300) + 1e-17, label="|E(t) - E(0)| / |E(0)|")
    transmitted = scalars["transmitted"]  # NaN where the potential has no barrier to cross
    if np.all(np.isfinite(transmitted)):
        ax.semilogy(times, transmitted + 1e-17, label="transmitted probability")
    ax.set_xlabel("t")
    ax.set_title("conservation")
    ax.legend(fontsize=7)


def plot_run(run: SimulatedRun, path: str | os.PathLike[str]) -> Path:
    """Save a summary figure of a ``schrodinger`` run: ``|psi|^2`` in space-time with snapshots over ``V`` (1D)
    or at the first and last save with contours of ``V`` (2D), and the drift of norm and energy."""
    plt = pyplot()
    times, fields, axes = run.times, run.trajectory.fields, list(run.layout.axes.values())
    density = np.abs(fields["psi"]) ** 2  # (n_t, *space)
    v = fields["potential"] if fields["potential"].ndim == len(axes) else fields["potential"][0]  # V at t = 0
    fig, panels = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
    if len(axes) == 1:
        (x,) = axes
        im = panels[0].pcolormesh(x, times, density, shading="auto", cmap="magma")
        fig.colorbar(im, ax=panels[0], label="|psi|^2")
        panels[0].set(xlabel="x", ylabel="t", title="density |psi(x, t)|^2")
        for index in np.linspace(0, len(times) - 1, 4).astype(int):
            panels[1].plot(x, density[index], label=f"t = {times[index]:.3g}")
        twin = panels[1].twinx()
        twin.plot(x, v, "k--", lw=0.8)
        # Show V up to a few times the packet's energy, not the walls' full height.
        energy = float(run.trajectory.scalars["energy"][0])
        twin.set_ylim(v.min(), max(v.min() + 3 * (energy - v.min()), v.min() + 1e-12))
        twin.set_ylabel("V(x)")
        panels[1].set(xlabel="x", ylabel="|psi|^2", title="snapshots (dashed: V)")
        panels[1].legend(fontsize=7)
    else:
        x, y = axes
        extent = (x[0], x[-1], y[0], y[-1])
        panels[0].imshow(density[0].T, origin="lower", extent=extent, cmap="magma")
        panels[0].set(xlabel="x", ylabel="y", title=f"|psi|^2 at t = {times[0]:.3g}")
        panels[1].imshow(density[-1].T, origin="lower", extent=extent, cmap="magma")
        panels[1].contour(x, y, v.T, colors="w", linewidths=0.5, levels=8)
        panels[1].set(xlabel="x", ylabel="y", title=f"|psi|^2 at t = {times[-1]:.3g} (contours: V)")
    _observable_panel(panels[2], times, run.trajectory.scalars)
    return save(fig, path)
