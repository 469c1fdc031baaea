"""A quick look at a rendered image: intensity with the analytic shadow edge, and the redshift map."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from physml.simulators.bh_images.critical import critical_curve
from physml.simulators.bh_images.render import BHImage

__all__ = ["plot_image"]


def plot_image(image: BHImage, path: str | os.PathLike[str]) -> Path:
    """Save intensity (with Bardeen's critical curve dashed) and redshift ``g`` side by side (PNG/PDF)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scene = image.scene
    da, db = image.alpha[1] - image.alpha[0], image.beta[1] - image.beta[0]
    extent = (image.alpha[0] - da / 2, image.alpha[-1] + da / 2, image.beta[0] - db / 2, image.beta[-1] + db / 2)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), constrained_layout=True)
    # A power-law colour scale: the Doppler-boosted side is orders brighter than the rest of the disk.
    norm = matplotlib.colors.PowerNorm(0.4, vmin=0.0)
    shown = axes[0].imshow(image.intensity, origin="lower", extent=extent, cmap="afmhot", norm=norm)
    fig.colorbar(shown, ax=axes[0], label="I / I_em(M)")
    edge_a, edge_b = critical_curve(scene.black_hole, scene.camera.inclination)
    axes[0].plot(edge_a, edge_b, "c--", lw=0.8, label="critical curve (Bardeen)")
    axes[0].legend(loc="upper right", fontsize=7)
    g = np.ma.masked_invalid(image.redshift)
    shown = axes[1].imshow(g, origin="lower", extent=extent, cmap="coolwarm")
    fig.colorbar(shown, ax=axes[1], label="g = nu_obs / nu_em")
    bh, cam = scene.black_hole, scene.camera
    for ax, title in zip(axes, ("intensity", "redshift")):
        ax.set_xlabel("alpha")
        ax.set_ylabel("beta")
        ax.set_title(f"{title}: M = {bh.mass:g}, a/M = {bh.spin:g}, i = {cam.inclination:g} deg")
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
