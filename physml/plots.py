"""Figures for simulation runs (matplotlib, headless)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from physml.simulators.schrodinger import SchrodingerRun

__all__ = ["plot_schrodinger_run"]


def _observable_panel(ax, run: SchrodingerRun) -> None:
    obs = run.observables
    ax.semilogy(run.t, np.abs(obs["norm"] - obs["norm"][0]) + 1e-17, label="|norm(t) - norm(0)|")
    ax.semilogy(
        run.t,
        np.abs(obs["energy"] - obs["energy"][0]) / max(abs(obs["energy"][0]), 1e-300) + 1e-17,
        label="|E(t) - E(0)| / |E(0)|",
    )
    if "transmitted" in obs:
        ax.semilogy(run.t, obs["transmitted"] + 1e-17, label="transmitted probability")
    ax.set_xlabel("t")
    ax.set_title("conservation")
    ax.legend(fontsize=7)


def plot_schrodinger_run(run: SchrodingerRun, path: str | os.PathLike[str]) -> Path:
    """Save a summary figure: density in space-time (1D) or snapshots (2D), ``<x>(t)``, conservation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = run.system.grid
    density = np.abs(run.psi) ** 2
    v = run.system.potential_at(0.0)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), constrained_layout=True)
    if grid.ndim == 1:
        x = grid.axes[0]
        im = axes[0].pcolormesh(x, run.t, density, shading="auto", cmap="magma")
        fig.colorbar(im, ax=axes[0], label="|psi|^2")
        axes[0].set(xlabel="x", ylabel="t", title="density |psi(x, t)|^2")
        for index in np.linspace(0, len(run.t) - 1, 4).astype(int):
            axes[1].plot(x, density[index], label=f"t = {run.t[index]:.3g}")
        twin = axes[1].twinx()
        twin.plot(x, v, "k--", lw=0.8)
        # Show V up to a few times the packet's energy, not the walls' full height.
        energy = float(run.observables["energy"][0])
        twin.set_ylim(v.min(), max(v.min() + 3 * (energy - v.min()), v.min() + 1e-12))
        twin.set_ylabel("V(x)")
        axes[1].set(xlabel="x", ylabel="|psi|^2", title="snapshots (dashed: V)")
        axes[1].legend(fontsize=7)
    else:
        x, y = grid.axes
        extent = (x[0], x[-1], y[0], y[-1])
        axes[0].imshow(density[0].T, origin="lower", extent=extent, cmap="magma")
        axes[0].set(xlabel="x", ylabel="y", title=f"|psi|^2 at t = {run.t[0]:.3g}")
        axes[1].imshow(density[-1].T, origin="lower", extent=extent, cmap="magma")
        axes[1].contour(x, y, v.T, colors="w", linewidths=0.5, levels=8)
        axes[1].set(xlabel="x", ylabel="y", title=f"|psi|^2 at t = {run.t[-1]:.3g} (contours: V)")
    _observable_panel(axes[2], run)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
