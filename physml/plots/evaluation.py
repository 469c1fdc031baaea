"""Figures of ``physml evaluate``: rollout error, drift of conserved quantities, space-time, spectra, splits."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from physml.plots import pyplot, save

__all__ = [
    "plot_comparison",
    "plot_constraints",
    "plot_drift",
    "plot_generated_fields",
    "plot_rollout_error",
    "plot_spacetime",
    "plot_spectra",
]


def plot_rollout_error(metrics: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """nRMSE per rollout step of every model in ``metrics`` (:func:`~physml.training.evaluate_checkpoints`)."""
    plt = pyplot()
    steps = np.arange(1, metrics["rollout_steps"] + 1)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, m in metrics["models"].items():
        ax.semilogy(steps, m["rollout"]["nrmse_per_step"], marker="o", ms=3, label=label)
    ax.set(xlabel="rollout step", ylabel="nRMSE", title="error along autoregressive rollouts")
    ax.legend()
    fig.tight_layout()
    return save(fig, path)


def plot_drift(metrics: dict[str, Any], invariants: Sequence[str], path: str | os.PathLike[str]) -> Path:
    """Relative drift of each conserved quantity in ``invariants`` along the rollouts, one panel each."""
    plt = pyplot()
    steps = np.arange(1, metrics["rollout_steps"] + 1)
    fig, axes = plt.subplots(1, len(invariants), figsize=(5 * len(invariants), 3.5), squeeze=False)
    for ax, name in zip(axes[0], invariants):
        exact = []
        for label, m in metrics["models"].items():
            drift = np.asarray(m["rollout"][f"{name}_drift_per_step"])
            if drift.max() > 0:  # a log axis cannot show zero: name the exactly conserving models instead
                ax.semilogy(steps, drift, marker="o", ms=3, label=label)
            else:
                exact.append(label)
        title = f"{name} drift" + (f" ({', '.join(exact)}: none)" if exact else "")
        ax.set(xlabel="rollout step", ylabel=f"mean |{name} - {name}(0)| / |{name}(0)|", title=title)
        ax.legend()
    fig.tight_layout()
    return save(fig, path)


def plot_constraints(metrics: dict[str, Any], terms: Sequence[str], path: str | os.PathLike[str]) -> Path:
    """Each physics-constraint term along the rollouts (the simulator's own states dashed), one panel each."""
    plt = pyplot()
    steps = np.arange(1, metrics["rollout_steps"] + 1)
    fig, axes = plt.subplots(1, len(terms), figsize=(5 * len(terms), 3.5), squeeze=False)
    for ax, name in zip(axes[0], terms):
        for label, m in metrics["models"].items():  # a log axis cannot show zero (a copied state conserves E)
            values = np.asarray(m["rollout"][f"constraint_{name}_per_step"], dtype=float)
            ax.semilogy(steps, np.where(values > 0, values, np.nan), marker="o", ms=3, label=label)
        truth = np.asarray(next(iter(metrics["models"].values()))["rollout"][f"constraint_truth_{name}_per_step"])
        ax.semilogy(steps, np.where(truth > 0, truth, np.nan), "k--", lw=1.0, label="simulator")
        ax.set(xlabel="rollout step", ylabel="mean over trajectories", title=name)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


def plot_spacetime(
    truth: np.ndarray, prediction: np.ndarray, label: str, channel: str, path: str | os.PathLike[str]
) -> Path:
    """Truth, prediction and error of 1D fields ``(steps, X)`` along a rollout, as space-time diagrams."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.5), sharey=True, constrained_layout=True)
    limit = np.abs(truth).max()
    for ax, image, title in zip(
        axes, (truth, prediction, prediction - truth), ("truth", f"{label} prediction", "error")
    ):
        im = ax.imshow(image, aspect="auto", origin="lower", cmap="RdBu_r", vmin=-limit, vmax=limit,
                       extent=(0, image.shape[1], 0.5, image.shape[0] + 0.5))  # fmt: skip
        ax.set(title=f"{title}: {channel}", xlabel="x (grid index)")
    fig.colorbar(im, ax=axes, shrink=0.8)
    axes[0].set_ylabel("rollout step")
    return save(fig, path)


def image_grid(
    rows: list[tuple[str, np.ndarray]],
    trajectories: list[int],
    path: str | os.PathLike[str],
    *,
    draw: Callable[[Any, np.ndarray], Any],
    label: str,
    columns: int = 6,
    xlabel: str | None = None,
) -> Path:
    """One row per source of images ``(N, X, Y)`` (the stored ones first), one column per trajectory.

    ``draw(ax, image)`` shows one ``(X, Y)`` image and returns what the shared colour bar (``label``) reads.
    """
    plt = pyplot()
    n = min(columns, len(rows[0][1]))
    fig, axes = plt.subplots(len(rows), n, figsize=(2.1 * n + 0.8, 2.1 * len(rows)), squeeze=False,
                             constrained_layout=True)  # fmt: skip
    for r, (name, images) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            shown = draw(ax, images[c])
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
            if r == 0:
                ax.set_title(f"trajectory {trajectories[c]}", fontsize=8)
    if xlabel is not None:
        axes[-1, 0].set_xlabel(xlabel, fontsize=7)
    fig.colorbar(shown, ax=axes, shrink=0.8, label=label)
    return save(fig, path)


def plot_generated_fields(
    truth: np.ndarray,
    generated: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    trajectories: list[int],
    path: str | os.PathLike[str],
    *,
    label: str,
    names: tuple[str, str] = ("x", "y"),
    columns: int = 6,
) -> Path:
    """Stored 2D fields (top row) above each generator's fields of the same parameters, on one colour scale.

    ``truth`` and each ``generated[label]`` are ``(N, X, Y)`` on the axes ``x``, ``y``; the first ``columns``
    are drawn.
    """
    dx, dy = x[1] - x[0], y[1] - y[0]
    extent = (x[0] - dx / 2, x[-1] + dx / 2, y[0] - dy / 2, y[-1] + dy / 2)
    n = min(columns, len(truth))
    low, high = float(truth[:n].min()), float(truth[:n].max())

    def draw(ax: Any, image: np.ndarray) -> Any:
        return ax.imshow(image.T, origin="lower", extent=extent, cmap="magma", vmin=low, vmax=high)

    return image_grid([("simulator", truth), *generated.items()], trajectories, path, draw=draw, label=label,
                      columns=columns, xlabel=f"{names[0]} (horizontal), {names[1]} (up)")  # fmt: skip


def plot_spectra(
    truth: np.ndarray, predictions: dict[str, np.ndarray], steps: int, path: str | os.PathLike[str]
) -> Path:
    """Power per wavenumber of the last rollout step, ``(C, X)`` fields summed over channels: truth and each model."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.semilogy(_spectrum(truth), "k", lw=2, label="truth")
    for name, prediction in predictions.items():
        ax.semilogy(_spectrum(prediction), lw=1, label=name)
    ax.set(xlabel="wavenumber index", ylabel="power", title=f"spectrum after {steps} steps")
    ax.legend()
    fig.tight_layout()
    return save(fig, path)


def _spectrum(fields: np.ndarray) -> np.ndarray:
    """Power per wavenumber of ``(C, X)`` fields along ``X``, summed over channels."""
    return (np.abs(np.fft.rfft(fields, axis=-1)) ** 2).sum(0)


def plot_comparison(splits: dict[str, dict[str, Any]], path: str | os.PathLike[str], *, title: str = "") -> Path:
    """One figure comparing models across splits: one-step nRMSE bars per split, rollout nRMSE per step.

    ``splits`` maps a split name to the ``metrics`` of :func:`~physml.training.evaluate_checkpoints`
    on it (the same models in each).
    """
    plt = pyplot()
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
    return save(fig, path)
