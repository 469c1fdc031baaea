"""Evaluate a trained surrogate against the baselines: one-step and rollout errors, drift, plots, a report.

All errors are computed on physical (denormalised) fields of a held-out split.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from physml.datasets.samples import WindowDataset
from physml.models import FieldFormat, PersistenceConfig, build_model, load_checkpoint
from physml.models.metrics import band_errors, nrmse, vrmse
from physml.training.trainer import resolve_device

__all__ = ["evaluate_checkpoint"]


def _windows(path: Path, data: dict[str, Any], split: str, n_output: int, **kwargs: Any) -> WindowDataset:
    return WindowDataset(
        path,
        n_input=data["n_input"],
        n_output=n_output,
        split=split,
        fields=data["fields"],
        constant_fields=data["constant_fields"],
        normalize=data["normalize"],
        **kwargs,
    )


@torch.no_grad()
def _one_step(model: nn.Module, fmt: FieldFormat, dataset: WindowDataset, device: torch.device) -> dict[str, float]:
    rows: dict[str, list[torch.Tensor]] = {"nrmse": [], "vrmse": [], "low": [], "mid": [], "high": []}
    for batch in DataLoader(dataset, batch_size=64):
        fields = batch["input_fields"].to(device)
        constant = batch.get("constant_fields")
        prediction = model(fmt.inputs(fields, None if constant is None else constant.to(device))).cpu()
        truth = dataset.denormalize(batch["output_fields"][:, 0].double(), channel_dim=1)
        prediction = dataset.denormalize(prediction.double(), channel_dim=1)
        rows["nrmse"].append(nrmse(prediction, truth).mean(1))
        rows["vrmse"].append(vrmse(prediction, truth).mean(1))
        for band, error in band_errors(prediction, truth).items():
            rows[band].append(error.mean(1))
    return {name: float(torch.cat(values).mean()) for name, values in rows.items()}


@torch.no_grad()
def _rollout(
    model: nn.Module, fmt: FieldFormat, dataset: WindowDataset, steps: int, device: torch.device
) -> dict[str, Any]:
    errors, norm_drift, example = [], [], None
    for batch in DataLoader(dataset, batch_size=16):
        constant = batch.get("constant_fields")
        predicted = fmt.rollout(
            model, batch["input_fields"].to(device), None if constant is None else constant.to(device), steps
        ).cpu()  # (B, steps, C, *space)
        truth = dataset.denormalize(batch["output_fields"].double())
        predicted = dataset.denormalize(predicted.double())
        errors.append(torch.stack([nrmse(predicted[:, s], truth[:, s]).mean(1) for s in range(steps)], dim=1))
        # Drift of the field's squared L2 norm (the probability for a wave function) from the last input.
        start = dataset.denormalize(batch["input_fields"][:, -1].double(), channel_dim=1)
        n0 = start.square().flatten(1).sum(1)
        norm_drift.append((predicted.square().flatten(2).sum(2) / n0[:, None] - 1).abs())
        if example is None:
            example = {"truth": truth[0, :, 0].numpy(), "prediction": predicted[0, :, 0].numpy()}
    per_step = torch.cat(errors).mean(0)
    drift = torch.cat(norm_drift)
    return {
        "nrmse_per_step": per_step.tolist(),
        "nrmse_final": float(per_step[-1]),
        "norm_drift_max": float(drift.max()),
        "norm_drift_final_mean": float(drift[:, -1].mean()),
        "example": example,
    }


def evaluate_checkpoint(
    checkpoint: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    *,
    split: str = "test",
    rollout: int = 20,
    out: str | os.PathLike[str] | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Errors of the checkpoint's model and of persistence on ``split`` of ``data_path``.

    Returns (and with ``out`` writes as ``metrics.json``, plots and ``report.md``) one-step
    nRMSE, VRMSE and per-band errors, and ``rollout``-step nRMSE per step and norm drift.
    """
    torch_device = resolve_device(device)
    model, extra = load_checkpoint(checkpoint, device=torch_device)
    model.eval()
    data = dict(extra["config"]["data"])
    path = Path(data_path)
    one_step = _windows(path, data, split, 1)
    if len(one_step) == 0:
        raise ValueError(f"{path} has no {split!r} windows to evaluate on")
    fmt = FieldFormat(data["n_input"], len(one_step.channel_names), len(one_step.constant_channel_names))
    persistence = build_model("persistence", PersistenceConfig(fmt.in_channels, fmt.out_channels, fmt.latest))
    models = {"model": model, "persistence": persistence.to(torch_device)}
    span = one_step.info.n_times - data["n_input"]
    steps = min(rollout, span)
    rollouts = _windows(path, data, split, steps, window_stride=one_step.info.n_times)
    metrics: dict[str, Any] = {"split": split, "checkpoint": str(checkpoint), "rollout_steps": steps}
    examples = {}
    for name, candidate in models.items():
        result = _rollout(candidate, fmt, rollouts, steps, torch_device)
        examples[name] = result.pop("example")
        metrics[name] = {"one_step": _one_step(candidate, fmt, one_step, torch_device), "rollout": result}
    one = metrics["model"]["one_step"]["nrmse"]
    metrics["one_step_gain_over_persistence"] = metrics["persistence"]["one_step"]["nrmse"] / max(one, 1e-300)
    if out is not None:
        _write_report(Path(out), metrics, examples)
    return metrics


def _write_report(out: Path, metrics: dict[str, Any], examples: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    steps = np.arange(1, metrics["rollout_steps"] + 1)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name in ("model", "persistence"):
        ax.semilogy(steps, metrics[name]["rollout"]["nrmse_per_step"], marker="o", ms=3, label=name)
    ax.set(xlabel="rollout step", ylabel="nRMSE", title="error along autoregressive rollouts")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "rollout_error.png", dpi=120)
    plt.close(fig)
    example = examples["model"]
    if example["truth"].ndim == 2:  # 1D fields: space-time diagrams of truth, prediction and error
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.5), sharey=True)
        panels = (example["truth"], example["prediction"], example["prediction"] - example["truth"])
        for ax, image, title in zip(axes, panels, ("truth", "prediction", "error")):
            im = ax.imshow(image, aspect="auto", origin="lower", cmap="RdBu_r")
            ax.set(title=title, xlabel="x (grid index)")
            fig.colorbar(im, ax=ax)
        axes[0].set_ylabel("rollout step")
        fig.tight_layout()
        fig.savefig(out / "spacetime.png", dpi=120)
        plt.close(fig)
    lines = [
        "# Evaluation report",
        "",
        f"Checkpoint `{metrics['checkpoint']}`, split `{metrics['split']}`, "
        f"rollouts of {metrics['rollout_steps']} steps.",
        "",
        "| model | one-step nRMSE | one-step VRMSE | low / mid / high band error | rollout nRMSE (last step) | "
        "max norm drift |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("model", "persistence"):
        one, roll = metrics[name]["one_step"], metrics[name]["rollout"]
        lines.append(
            f"| {name} | {one['nrmse']:.3g} | {one['vrmse']:.3g} | {one['low']:.2g} / {one['mid']:.2g} / "
            f"{one['high']:.2g} | {roll['nrmse_final']:.3g} | {roll['norm_drift_max']:.2g} |"
        )
    lines += ["", f"One-step gain over persistence: {metrics['one_step_gain_over_persistence']:.1f}x.", ""]
    (out / "report.md").write_text("\n".join(lines))
