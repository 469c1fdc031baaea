"""Generated black-hole images scored as an observer would: the dark region's size and place, against ray tracing.

For images of the ``bh_images`` family (:func:`~physml.training.generation.evaluate_generators`),
each generated image is compared with the ray-traced one of the same held-out
parameters by :func:`~physml.simulators.bh_images.measure.dark_region`:

* ``diameter_error``: ``|D_gen - D_true| / D_true`` of the dark region's
  area-equivalent diameter;
* ``centroid_error``: ``|x_gen - x_true| / D_true``, the horizontal centroid
  (the shift frame dragging gives a spinning hole) as a fraction of the diameter;
* ``pixel_nrmse``: RMS of ``log10 I_gen - log10 I_true`` over the pixels,
  divided by the standard deviation of ``log10 I_true`` (the picture as shown).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

__all__ = ["BlackHoleImageScores"]

#: The share of the summary's images within which the issue's goal (3 %) is counted.
GOAL = 0.03


def _image_measures(intensity: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> tuple[float, float]:
    from physml.simulators.bh_images.measure import dark_region

    region = dark_region(intensity.T, alpha, beta)  # stored on (alpha, beta): the image is the transpose
    return region.diameter, region.centroid_alpha


class BlackHoleImageScores:
    """Scores of generated intensity images ``(alpha, beta)`` against ray-traced ones."""

    family = "bh_images"
    simulator = "ray tracing"
    needs = ("intensity",)
    shown = "intensity"

    def __init__(self, axes: dict[str, np.ndarray]) -> None:
        self.alpha, self.beta = axes["alpha"], axes["beta"]

    def score(
        self, generated: dict[str, np.ndarray], truth: dict[str, np.ndarray], params: dict[str, float]
    ) -> dict[str, float]:
        """The three measures of one generated image against the traced one."""
        gen, true = generated["intensity"], truth["intensity"]
        d_gen, x_gen = _image_measures(gen, self.alpha, self.beta)
        d_true, x_true = _image_measures(true, self.alpha, self.beta)
        floor = 1e-12
        log_gen, log_true = np.log10(np.maximum(gen, floor)), np.log10(np.maximum(true, floor))
        return {
            "diameter_true": d_true,
            "diameter_generated": d_gen,
            "diameter_error": abs(d_gen - d_true) / d_true,
            "centroid_true": x_true,
            "centroid_generated": x_gen,
            "centroid_error": abs(x_gen - x_true) / d_true,
            "pixel_nrmse": float(np.sqrt(np.mean((log_gen - log_true) ** 2)) / np.std(log_true)),
        }

    @staticmethod
    def summary(rows: list[dict[str, float]]) -> dict[str, float]:
        out: dict[str, float] = {"images": len(rows)}
        for key in ("diameter_error", "centroid_error", "pixel_nrmse"):
            values = np.array([r[key] for r in rows], dtype=np.float64)  # NaN where an image has no dark region
            out[f"{key}_median"] = float(np.nanmedian(values)) if np.isfinite(values).any() else math.nan
            out[f"{key}_mean"] = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
            if key != "pixel_nrmse":
                out[f"{key}_within_3pct"] = float(np.mean(values <= GOAL))  # NaN counts as a miss
        out["no_dark_region"] = int(sum(not math.isfinite(r["diameter_generated"]) for r in rows))
        return out

    header = ("diameter error (median / mean)", "within 3 %", "centroid error / D (median / mean)", "within 3 %",
              "pixel nRMSE of log I (median)")  # fmt: skip
    note = "dark-region measures of physml.simulators.bh_images.measure"

    @staticmethod
    def cells(s: dict[str, float]) -> list[str]:
        pct = {k: f"{100 * s[k]:.2f} %" for k in s if "error" in k}
        return [f"{pct['diameter_error_median']} / {pct['diameter_error_mean']}",
                f"{100 * s['diameter_error_within_3pct']:.0f} %",
                f"{pct['centroid_error_median']} / {pct['centroid_error_mean']}",
                f"{100 * s['centroid_error_within_3pct']:.0f} %", f"{s['pixel_nrmse_median']:.3f}"]  # fmt: skip

    def plot(self, truth: np.ndarray, examples: dict[str, np.ndarray], trajectories: list[int], path: Path) -> None:
        """Traced intensities over each generator's (``(N, X, Y)`` each), with the dark regions outlined."""
        from physml.plots.bh_images import plot_generated

        plot_generated(truth, examples, self.alpha, self.beta, trajectories, path)
