"""Figures of ray-traced black-hole images: intensity with the analytic shadow edge, and the redshift map."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from physml.plots import pyplot, save

if TYPE_CHECKING:
    from physml.datasets.simulate import SimulatedRun

__all__ = ["plot_run"]


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
