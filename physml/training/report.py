"""The evaluation report: ``metrics.json``, plots of errors, drift, space-time and spectra, and ``report.md``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["plot_comparison", "summary_table", "write_report"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def summary_table(metrics: dict[str, Any]) -> str:
    """A Markdown table: one row per model, one-step and rollout errors and drift."""
    drift = [k.removesuffix("_drift_max") for k in next(iter(metrics["models"].values()))["rollout"]
             if k.endswith("_drift_max")]  # fmt: skip
    header = ["model", "one-step nRMSE", "one-step VRMSE", "low / mid / high band error",
              f"rollout nRMSE (step {metrics['rollout_steps']})", "gain over persistence",
              *(f"max {name} drift" for name in drift)]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for label, m in metrics["models"].items():
        one, roll = m["one_step"], m["rollout"]
        cells = [label, f"{one['nrmse']:.3g}", f"{one['vrmse']:.3g}",
                 f"{one['low']:.2g} / {one['mid']:.2g} / {one['high']:.2g}", f"{roll['nrmse_final']:.3g}",
                 f"{metrics['gain_over_persistence'][label]:.1f}x",
                 *(f"{roll[f'{name}_drift_max']:.2g}" for name in drift)]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(out: Path, metrics: dict[str, Any], examples: dict[str, Any], *, channels: Sequence[str]) -> None:
    """Write ``metrics.json``, ``rollout_error.png``, ``drift.png``, ``spacetime.png``, ``spectra.png`` (1D) and
    ``report.md`` to ``out``."""
    plt = _plt()
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    steps = np.arange(1, metrics["rollout_steps"] + 1)
    models = metrics["models"]

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, m in models.items():
        ax.semilogy(steps, m["rollout"]["nrmse_per_step"], marker="o", ms=3, label=label)
    ax.set(xlabel="rollout step", ylabel="nRMSE", title="error along autoregressive rollouts")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "rollout_error.png", dpi=120)
    plt.close(fig)

    invariants = [k.removesuffix("_drift_per_step") for k in next(iter(models.values()))["rollout"]
                  if k.endswith("_drift_per_step")]  # fmt: skip
    if invariants:
        fig, axes = plt.subplots(1, len(invariants), figsize=(5 * len(invariants), 3.5), squeeze=False)
        for ax, name in zip(axes[0], invariants):
            exact = []
            for label, m in models.items():
                drift = np.asarray(m["rollout"][f"{name}_drift_per_step"])
                if drift.max() > 0:  # a log axis cannot show zero: name the exactly conserving models instead
                    ax.semilogy(steps, drift, marker="o", ms=3, label=label)
                else:
                    exact.append(label)
            title = f"{name} drift" + (f" ({', '.join(exact)}: none)" if exact else "")
            ax.set(xlabel="rollout step", ylabel=f"mean |{name} - {name}(0)| / |{name}(0)|", title=title)
            ax.legend()
        fig.tight_layout()
        fig.savefig(out / "drift.png", dpi=120)
        plt.close(fig)

    figures = ["rollout_error.png", *(["drift.png"] if invariants else [])]
    label = next(iter(models))
    example = examples[label]
    if example["truth"].ndim == 3:  # 1D fields (steps, C, X): space-time diagrams and spectra
        truth, prediction = example["truth"][:, 0], example["prediction"][:, 0]
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.5), sharey=True, constrained_layout=True)
        limit = np.abs(truth).max()
        for ax, image, title in zip(axes, (truth, prediction, prediction - truth),
                                    ("truth", f"{label} prediction", "error")):  # fmt: skip
            im = ax.imshow(image, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit,
                           extent=(0, image.shape[1], 0.5, image.shape[0] + 0.5))  # fmt: skip
            ax.set(title=f"{title}: {channels[0]}", xlabel="x (grid index)")
        fig.colorbar(im, ax=axes, shrink=0.8)
        axes[0].set_ylabel("rollout step")
        fig.savefig(out / "spacetime.png", dpi=120)
        plt.close(fig)

        fig, ax = plt.subplots(figsize=(5, 3.5))
        ax.semilogy(_spectrum(example["truth"][-1]), "k", lw=2, label="truth")
        for name, ex in examples.items():
            ax.semilogy(_spectrum(ex["prediction"][-1]), lw=1, label=name)
        ax.set(xlabel="wavenumber index", ylabel="power", title=f"spectrum after {metrics['rollout_steps']} steps")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "spectra.png", dpi=120)
        plt.close(fig)
        figures += ["spacetime.png", "spectra.png"]

    lines = [
        "# Evaluation report",
        "",
        f"Data `{metrics['data']}`, split `{metrics['split']}`, rollouts of {metrics['rollout_steps']} steps; "
        "errors on physical (denormalised) fields.",
        "",
        summary_table(metrics),
        "",
        *(f"![{name}]({name})" for name in figures),
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))


def _spectrum(fields: np.ndarray) -> np.ndarray:
    """Power per wavenumber of ``(C, X)`` fields along ``X``, summed over channels."""
    return (np.abs(np.fft.rfft(fields, axis=-1)) ** 2).sum(0)


def plot_comparison(splits: dict[str, dict[str, Any]], path: str | Path, *, title: str = "") -> None:
    """One figure comparing models across splits: one-step nRMSE bars per split, rollout nRMSE per step.

    ``splits`` maps a split name to the ``metrics`` of :func:`~physml.training.evaluate.evaluate_checkpoints`
    on it (the same models in each).
    """
    plt = _plt()
    names = list(splits)
    labels = list(splits[names[0]]["models"])
    fig, (bars, lines) = plt.subplots(1, 2, figsize=(10, 3.8))
    width = 0.8 / len(labels)
    for k, label in enumerate(labels):
        values = [splits[name]["models"][label]["one_step"]["nrmse"] for name in names]
        bars.bar(np.arange(len(names)) + (k - (len(labels) - 1) / 2) * width, values, width, label=label)
    bars.set_xticks(np.arange(len(names)), names)
    bars.set(ylabel="one-step nRMSE", yscale="log", title="one step")
    bars.legend(fontsize=8)
    for name, style in zip(names, ("-", "--", ":")):
        metrics = splits[name]
        steps = np.arange(1, metrics["rollout_steps"] + 1)
        for k, label in enumerate(labels):
            lines.semilogy(steps, metrics["models"][label]["rollout"]["nrmse_per_step"], style, color=f"C{k}",
                           label=label if name == names[0] else None)  # fmt: skip
    key = ", ".join(f"{n}: {s}" for n, s in zip(names, ("solid", "dashed", "dotted")))
    lines.set(xlabel="rollout step", ylabel="nRMSE", title=f"rollouts ({key})")
    lines.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
