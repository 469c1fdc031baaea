"""Generated spacetime images scored by their geometry: where the horizon is and how strong the curvature peaks.

For the ``spacetime`` family (Kerr–Newman metric images on the meridional plane
``y = 0`` of Kerr–Schild coordinates), :func:`~physml.training.generation.evaluate_generators`
compares each generated set of fields with the stored one of the same held-out
black hole:

* **The horizon.** On this plane the outer horizon ``r = r+`` is the ellipse
  ``x² / (r+² + a²) + z² / r+² = 1``. Its semi-axes are read off the ``outside``
  channel (1 outside, 0 inside) through second moments of the inside weight
  ``w = clip(1 - outside, 0, 1)`` (a uniform ellipse of semi-axis ``A`` has
  ``<x²> = A² / 4``): ``horizon_polar`` (``r+``) and ``horizon_equatorial``
  (``sqrt(r+² + a²)``). Errors are relative to the closed form
  (:class:`~physml.simulators.spacetime.Kerr`), for the generated image and
  for the stored one (the pixel grid's own floor: a mask is resolved to a pixel).
* **The Kretschmann peak.** The largest ``log10 |K| M⁴`` outside the horizon
  (``kretschmann_peak_error`` in dex) and where it sits (``kretschmann_peak_shift``
  in units of M, between ``(|x|, |z|)`` positions: the field is symmetric
  under both reflections, so either pole is the peak).
* ``pixel_nrmse``: per channel ``RMS(gen - true) / std(true)`` over the image,
  averaged over the channels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["SpacetimeScores"]

#: Far-field values of ``1 - outside`` below this are taken as noise, not horizon.
INSIDE_FLOOR = 0.25


def horizon_semi_axes(outside: np.ndarray, x: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    """``(equatorial, polar)`` semi-axes of the masked region of ``outside`` ``(X, Z)``, from its second moments."""
    w = np.clip(1.0 - outside, 0.0, 1.0)
    w = np.where(w < INSIDE_FLOOR, 0.0, w)
    total = w.sum()
    if total == 0:
        return float("nan"), float("nan")
    xx, zz = np.meshgrid(x, z, indexing="ij")
    return float(2 * np.sqrt((w * xx**2).sum() / total)), float(2 * np.sqrt((w * zz**2).sum() / total))


def kretschmann_peak(
    log_k: np.ndarray, outside: np.ndarray, x: np.ndarray, z: np.ndarray
) -> tuple[float, float, float]:
    """``(peak, |x|, |z|)``: the largest ``log_k`` where ``outside > 0.5``, and where."""
    values = np.where(outside > 0.5, log_k, -np.inf)
    if not np.isfinite(values).any():
        return float("nan"), float("nan"), float("nan")
    i, k = np.unravel_index(int(np.argmax(values)), values.shape)
    return float(values[i, k]), float(abs(x[i])), float(abs(z[k]))


class SpacetimeScores:
    """Scores of generated Kerr–Newman meridional images ``(x, z)`` against the stored closed forms."""

    family = "spacetime"
    simulator = "closed-form slice"
    needs = ("outside", "log_kretschmann")
    shown = "log_kretschmann"

    def __init__(self, axes: dict[str, np.ndarray]) -> None:
        self.x, self.z = axes["x"], axes["z"]

    def score(
        self, generated: dict[str, np.ndarray], truth: dict[str, np.ndarray], params: dict[str, float]
    ) -> dict[str, float]:
        from physml.datasets.families.spacetime import SpacetimeFamily

        bh = SpacetimeFamily.black_hole(params)
        polar, equatorial = bh.horizon, float(np.hypot(bh.horizon, bh.a))
        row: dict[str, float] = {"horizon_polar_exact": polar, "horizon_equatorial_exact": equatorial}
        for label, fields in (("generated", generated), ("stored", truth)):
            eq, po = horizon_semi_axes(fields["outside"], self.x, self.z)
            row[f"horizon_polar_{label}"], row[f"horizon_equatorial_{label}"] = po, eq
            row[f"horizon_polar_error_{label}"] = abs(po - polar) / polar
            row[f"horizon_equatorial_error_{label}"] = abs(eq - equatorial) / equatorial
        peak_gen, *where_gen = kretschmann_peak(generated["log_kretschmann"], generated["outside"], self.x, self.z)
        peak_true, *where_true = kretschmann_peak(truth["log_kretschmann"], truth["outside"], self.x, self.z)
        row |= {"kretschmann_peak_true": peak_true, "kretschmann_peak_generated": peak_gen,
                "kretschmann_peak_error": abs(peak_gen - peak_true),
                "kretschmann_peak_shift": float(np.hypot(*np.subtract(where_gen, where_true)))}  # fmt: skip
        errors = []
        for name, true in truth.items():
            error = float(np.sqrt(np.mean((generated[name] - true) ** 2)) / max(float(np.std(true)), 1e-30))
            row[f"pixel_nrmse_{name}"] = error
            errors.append(error)
        row["pixel_nrmse"] = float(np.mean(errors))
        return row

    @staticmethod
    def summary(rows: list[dict[str, float]]) -> dict[str, float]:
        out: dict[str, float] = {"images": len(rows)}
        keys = [k for k in rows[0] if "error" in k or k.startswith(("pixel_nrmse", "kretschmann_peak_shift"))]
        for key in keys:
            values = np.array([r[key] for r in rows], dtype=np.float64)  # NaN where an image has no horizon
            finite = np.isfinite(values).any()
            out[f"{key}_median"] = float(np.nanmedian(values)) if finite else float("nan")
            out[f"{key}_max"] = float(np.nanmax(values)) if finite else float("nan")
        return out

    header = ("horizon r+ error, generated (median / max)", "stored mask",
              "equatorial radius error (median / max)", "Kretschmann peak error, dex (median / max)",
              "peak shift, M (median)", "pixel nRMSE (median)")  # fmt: skip
    note = ("horizon semi-axes from the outside mask's second moments against the closed form; the largest log10 |K| "
            "M^4 outside the horizon")  # fmt: skip

    @staticmethod
    def cells(s: dict[str, float]) -> list[str]:
        def pct(key: str) -> str:
            return f"{100 * s[key + '_median']:.2f} % / {100 * s[key + '_max']:.2f} %"

        return [pct("horizon_polar_error_generated"), pct("horizon_polar_error_stored"),
                pct("horizon_equatorial_error_generated"),
                f"{s['kretschmann_peak_error_median']:.3f} / {s['kretschmann_peak_error_max']:.3f}",
                f"{s['kretschmann_peak_shift_median']:.2f}", f"{s['pixel_nrmse_median']:.3f}"]  # fmt: skip

    def plot(self, truth: np.ndarray, examples: dict[str, np.ndarray], trajectories: list[int], path: Path) -> None:
        """Stored ``log10 |K| M⁴`` over each generator's (``(N, X, Z)`` each)."""
        from physml.plots.evaluation import plot_generated_fields

        plot_generated_fields(truth, examples, self.x, self.z, trajectories, path, label="log10 |K| M^4",
                              names=("x / M", "z / M"))  # fmt: skip
