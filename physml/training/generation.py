"""Score generators of static fields against the simulator: black-hole images from text or parameters.

A model trained with ``data.n_input = 0`` (see :class:`~physml.datasets.StaticDataset`)
draws a trajectory's static fields from its conditioning alone. For images of
the ``bh_images`` family, :func:`evaluate_generators` scores each generated
image against the ray-traced one of the same held-out parameters with the
measures an observer uses (:func:`~physml.simulators.bh_images.measure.dark_region`):

* ``diameter_error``: ``|D_gen - D_true| / D_true`` of the dark region's
  area-equivalent diameter;
* ``centroid_error``: ``|x_gen - x_true| / D_true``, the horizontal centroid
  (the shift frame dragging gives a spinning hole) as a fraction of the diameter;
* ``pixel_nrmse``: RMS of ``log10 I_gen - log10 I_true`` over the pixels,
  divided by the standard deviation of ``log10 I_true`` (the picture as shown).

It also times generation against ray tracing the same images on this machine,
and draws generated next to traced images (``generated_vs_traced.png``).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from physml.datasets.samples import Normalization
from physml.datasets.static import StaticDataset
from physml.training.conditioning import modality_transforms
from physml.training.evaluate import Surrogate, load_surrogate
from physml.training.trainer import resolve_device

__all__ = ["evaluate_generators", "generate"]

#: The share of the summary's images within which the issue's goal (3 %) is counted.
GOAL = 0.03


def static_samples(surrogate: Surrogate, path: str | os.PathLike[str], *, split: str | None) -> StaticDataset:
    """The static fields of ``path`` read the way ``surrogate`` was trained on (units, text, parameters)."""
    data, cond = surrogate.data, surrogate.conditioning
    norm = (surrogate.normalization or {}).get("fields")
    transforms = modality_transforms(
        path, text=cond.tokenizer is not None, image_size=cond.image_size, seed=surrogate.seed, vary=False
    )
    return StaticDataset(
        path, split=split, fields=data["fields"], log_fields=data.get("log_fields") or {},
        normalize=data["normalize"], normalization=None if norm is None else Normalization.from_dict(norm),
        transforms=transforms,
    )  # fmt: skip


@torch.no_grad()
def generate(surrogate: Surrogate, batch: Mapping[str, Any], *, seed: int) -> torch.Tensor:
    """Fields ``(B, C, *space)`` in model units drawn for a batch of :func:`static_samples` (seeded)."""
    device = next(iter(surrogate.model.parameters())).device
    x = surrogate.format.inputs(batch["input_fields"].to(device))  # (B, 0, *space): nothing but the condition
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return surrogate.model(x, **surrogate.context(batch)).float()


def _image_measures(intensity: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> tuple[float, float]:
    from physml.simulators.bh_images.measure import dark_region

    region = dark_region(intensity.T, alpha, beta)  # stored on (alpha, beta): the image is the transpose
    return region.diameter, region.centroid_alpha


def _score(generated: np.ndarray, truth: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> dict[str, float]:
    """The three measures of one generated intensity image ``(X, Y)`` against the traced one."""
    d_gen, x_gen = _image_measures(generated, alpha, beta)
    d_true, x_true = _image_measures(truth, alpha, beta)
    floor = 1e-12
    log_gen, log_true = np.log10(np.maximum(generated, floor)), np.log10(np.maximum(truth, floor))
    return {
        "diameter_true": d_true,
        "diameter_generated": d_gen,
        "diameter_error": abs(d_gen - d_true) / d_true,
        "centroid_true": x_true,
        "centroid_generated": x_gen,
        "centroid_error": abs(x_gen - x_true) / d_true,
        "pixel_nrmse": float(np.sqrt(np.mean((log_gen - log_true) ** 2)) / np.std(log_true)),
    }


def _summary(rows: list[dict[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {"images": len(rows)}
    for key in ("diameter_error", "centroid_error", "pixel_nrmse"):
        values = np.array([r[key] for r in rows], dtype=np.float64)  # NaN where an image has no dark region
        out[f"{key}_median"] = float(np.nanmedian(values)) if np.isfinite(values).any() else math.nan
        out[f"{key}_mean"] = float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
        if key != "pixel_nrmse":
            out[f"{key}_within_3pct"] = float(np.mean(values <= GOAL))  # NaN counts as a miss
    out["no_dark_region"] = int(sum(not math.isfinite(r["diameter_generated"]) for r in rows))
    return out


def _trace_seconds(path: str | os.PathLike[str], trajectories: list[int]) -> float:
    """Seconds per image to ray-trace ``trajectories`` of ``path`` again, as the dataset build did."""
    from physml.datasets import get_family, read_info, read_parameters
    from physml.datasets.families.bh_images import TOLERANCE
    from physml.simulators.bh_images import render

    info = read_info(path)
    family, rows = get_family(info.family), read_parameters(info)
    render(family.scene(rows[trajectories[0]]), tolerance=TOLERANCE)  # compile outside the clock
    start = time.perf_counter()
    for t in trajectories:
        render(family.scene(rows[t]), tolerance=TOLERANCE)
    return (time.perf_counter() - start) / len(trajectories)


def evaluate_generators(
    checkpoints: Mapping[str, str | os.PathLike[str]],
    data: str | os.PathLike[str],
    *,
    split: str = "test",
    out: str | os.PathLike[str],
    device: str = "auto",
    sampling: Mapping[str, Any] | None = None,
    seed: int = 0,
    trace: int = 8,
) -> dict[str, Any]:
    """Score each generator (label -> checkpoint) on ``split`` of ``data``; write ``metrics.json``, a figure, a report.

    ``sampling``: :meth:`~physml.models.diffusion.Diffusion.configure_sampling` settings. ``trace``:
    how many of the split's images to ray-trace again for the timing (0: no timing).
    """
    out = Path(out)
    dev = resolve_device(device)
    metrics: dict[str, Any] = {"data": str(data), "split": split, "models": {}}
    examples: dict[str, np.ndarray] = {}
    truth_images = None
    for label, checkpoint in checkpoints.items():
        surrogate = load_surrogate(checkpoint, device=dev)
        if surrogate.format.n_input != 0:
            raise ValueError(f"{checkpoint} predicts next states (data.n_input = {surrogate.format.n_input}): "
                             "score it with physml evaluate on a time-dependent file")  # fmt: skip
        model = surrogate.model
        if sampling and not hasattr(model, "configure_sampling"):
            raise ValueError(f"sampling options {sorted(sampling)} are invalid for {checkpoint}: it is not a "
                             "diffusion model")  # fmt: skip
        settings = model.configure_sampling(**(sampling or {})) if hasattr(model, "configure_sampling") else None
        dataset = static_samples(surrogate, data, split=split)
        if "intensity" not in dataset.channel_names or set(dataset.info.spatial_dims) != {"alpha", "beta"}:
            raise ValueError(f"{data} is not a black-hole image file (fields {dataset.channel_names}): nothing to "
                             "measure the shadow on")  # fmt: skip
        channel = dataset.channel_names.index("intensity")
        alpha, beta = dataset.axes["alpha"], dataset.axes["beta"]
        size = surrogate.data["batch_size"]
        loader = DataLoader(dataset, batch_size=size)
        rows, generated, truths, seconds = [], [], [], 0.0
        for i, batch in enumerate(loader):
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            start = time.perf_counter()
            fields = generate(surrogate, batch, seed=seed * 1_000_003 + i)
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            seconds += time.perf_counter() - start
            gen = dataset.physical(fields.cpu().double(), channel_dim=1)[:, channel].numpy()
            true = dataset.physical(batch["output_fields"][:, 0].double(), channel_dim=1)[:, channel].numpy()
            rows += [_score(g, t, alpha, beta) for g, t in zip(gen, true)]
            generated.append(gen)
            truths.append(true)
        summary = _summary(rows)
        summary["seconds_per_image"] = seconds / max(len(rows), 1)
        metrics["models"][label] = {
            "checkpoint": str(checkpoint),
            "sampling": None if settings is None else dict(settings.__dict__),
            "summary": summary,
            "images": [{"trajectory": int(t), **r} for t, r in zip(dataset.trajectories, rows)],
        }
        examples[label] = np.concatenate(generated)
        truth_images = np.concatenate(truths)
    trajectories = [int(t) for t in dataset.trajectories]
    if trace > 0 and trajectories:
        per_image = _trace_seconds(data, trajectories[:trace])
        metrics["ray_trace_seconds_per_image"] = per_image
        for m in metrics["models"].values():
            m["summary"]["speedup_over_ray_tracing"] = per_image / m["summary"]["seconds_per_image"]
    metrics["device"] = str(dev)
    _write(out, metrics, examples, truth_images, alpha, beta, trajectories)
    return metrics


def _write(out: Path, metrics: dict[str, Any], examples: dict[str, np.ndarray], truth: np.ndarray | None,
           alpha: np.ndarray, beta: np.ndarray, trajectories: list[int]) -> None:  # fmt: skip
    from physml.plots.bh_images import plot_generated

    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    figure = "generated_vs_traced.png"
    if truth is not None and len(truth):
        plot_generated(truth, examples, alpha, beta, trajectories, out / figure)
    header = ["model", "images", "diameter error (median / mean)", "within 3 %", "centroid error / D (median / mean)",
              "within 3 %", "pixel nRMSE of log I (median)", "ms per image", "speed-up over ray tracing"]  # fmt: skip
    lines = ["# Generated against ray-traced images", "",
             f"Data `{metrics['data']}`, split `{metrics['split']}`, device {metrics['device']}; dark-region "
             "measures of physml.simulators.bh_images.measure.", "",
             "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]  # fmt: skip
    for label, m in metrics["models"].items():
        s = m["summary"]
        speed = s.get("speedup_over_ray_tracing")
        pct = {k: f"{100 * s[k]:.2f} %" for k in s if "error" in k}
        cells = [label, str(s["images"]), f"{pct['diameter_error_median']} / {pct['diameter_error_mean']}",
                 f"{100 * s['diameter_error_within_3pct']:.0f} %",
                 f"{pct['centroid_error_median']} / {pct['centroid_error_mean']}",
                 f"{100 * s['centroid_error_within_3pct']:.0f} %", f"{s['pixel_nrmse_median']:.3f}",
                 f"{1e3 * s['seconds_per_image']:.1f}", "-" if speed is None else f"{speed:.1f}x"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    if "ray_trace_seconds_per_image" in metrics:
        lines += ["", f"Ray tracing: {1e3 * metrics['ray_trace_seconds_per_image']:.1f} ms per image on this machine."]
    lines += ["", f"![generated against traced]({figure})", ""]
    (out / "report.md").write_text("\n".join(lines))
