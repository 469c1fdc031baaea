"""Figures of ray-traced black-hole images: intensity with the analytic shadow edge, and the redshift map."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physml.plots import pyplot, save

if TYPE_CHECKING:
    from physml.datasets.simulate import SimulatedRun

__all__ = ["plot_generated", "plot_run"]


def plot_run(run: SimulatedRun, path: str | os.PathLike[str]) -> Path:
    """Save intensity (with Bardeen's critical curve dashed) and redshift ``g`` side by side (PNG/PDF)."""
    import matplotlib

    from physml.simulators.bh_images.critical import critical_curve

    plt = pyplot()
    params, fields = run.params, run.trajectory.fields
    alpha, beta = run.layout.axes["alpha"], run.layout.axes["beta"]
    intensity, redshift = fields["intensity"].T, fields["redshift"].T  # stored on (alpha, beta): rows along beta
    da, db = alpha[1] - alpha[0], beta[1] - beta[0]
    extent = (alpha[0] - da / 2, alpha[-1] + da / 2, beta[0] - db / 2, beta[-1] + db / 2)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True)
    # A power-law colour scale: the Doppler-boosted side is orders brighter than the rest of the disk.
    norm = matplotlib.colors.PowerNorm(0.4, vmin=0.0)
    shown = axes[0].imshow(intensity, origin="lower", extent=extent, cmap="afmhot", norm=norm)
    fig.colorbar(shown, ax=axes[0], label="I / I_em(M)")
    scene = run.family.scene(params)
    edge_a, edge_b = critical_curve(scene.black_hole, scene.camera.inclination)
    axes[0].plot(edge_a, edge_b, "c--", lw=0.8, label="critical curve (Bardeen)")
    axes[0].legend(loc="upper right", fontsize=7)
    shown = axes[1].imshow(np.ma.masked_equal(redshift, 0.0), origin="lower", extent=extent, cmap="coolwarm")
    fig.colorbar(shown, ax=axes[1], label="g = nu_obs / nu_em (blank: off the disk)")
    for ax, title in zip(axes, ("intensity", "redshift")):
        ax.set(xlabel="alpha", ylabel="beta")
        ax.set_title(f"{title}: M = {params['mass']:g}, a/M = {params['spin']:g}, i = {params['inclination']:g} deg")
    return save(fig, path)


def plot_generated(
    truth: np.ndarray,
    generated: dict[str, np.ndarray],
    alpha: np.ndarray,
    beta: np.ndarray,
    trajectories: list[int],
    path: str | os.PathLike[str],
    *,
    columns: int = 6,
) -> Path:
    """Ray-traced images (top row) above each generator's images of the same parameters, ``log10 I``.

    ``truth`` and each ``generated[label]`` are intensities ``(N, X, Y)`` on ``(alpha, beta)``; the first
    ``columns`` images are drawn, each with its dark region's outline (the shadow measure).
    """
    from physml.plots.evaluation import image_grid
    from physml.simulators.bh_images.measure import DEFAULT_DARK_THRESHOLD

    da, db = alpha[1] - alpha[0], beta[1] - beta[0]
    extent = (alpha[0] - da / 2, alpha[-1] + da / 2, beta[0] - db / 2, beta[-1] + db / 2)

    def draw(ax: Any, image: np.ndarray) -> Any:
        image = image.T  # (alpha, beta) -> rows along beta
        shown = ax.imshow(np.log10(np.maximum(image, 1e-6)), origin="lower", extent=extent, cmap="afmhot",
                          vmin=-5.0, vmax=0.0)  # fmt: skip
        ax.contour(alpha, beta, image, levels=[DEFAULT_DARK_THRESHOLD], colors="c", linewidths=0.5)
        return shown

    rows = [("ray-traced", truth), *generated.items()]
    return image_grid(rows, trajectories, path, draw=draw, label="log10 I", columns=columns)
