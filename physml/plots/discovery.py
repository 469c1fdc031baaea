"""Figures of discoveries: each recovered coefficient with its bootstrap spread, next to the known law."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from physml.plots import pyplot, save

__all__ = ["plot_coefficients", "plot_potential"]


def plot_coefficients(result: Any, path: str | os.PathLike[str]) -> Path:
    """One panel per target: every library term's fitted coefficient (± bootstrap std) and the true one."""
    plt = pyplot()
    fit = result.fit
    fig, axes = plt.subplots(len(fit.targets), 1, figsize=(max(6.0, 0.45 * len(fit.terms)), 2.6 * len(fit.targets)),
                             squeeze=False, constrained_layout=True)  # fmt: skip
    x = np.arange(len(fit.terms))
    for i, (ax, target) in enumerate(zip(axes[:, 0], fit.targets)):
        truth = [result.truth.get((target, term), 0.0) for term in fit.terms]
        ax.bar(x - 0.2, truth, width=0.4, color="0.75", label="known law")
        std = np.nan_to_num(fit.std[i])
        ax.bar(x + 0.2, fit.coefficients[i], width=0.4, yerr=std, color="C0", capsize=2, label="recovered ± bootstrap")
        ax.axhline(0.0, color="k", lw=0.5)
        ax.set_ylabel(target)
        ax.set_xticks(x, fit.terms, rotation=60, fontsize=7)
    axes[0, 0].legend(fontsize=7)
    state = "identifiable" if fit.identifiable else "not identifiable"
    title = (f"{result.form} form, noise {result.noise:g}: max coefficient error {100 * result.max_error:.3g} %, "
             f"{len(result.spurious())} spurious; {state}")  # fmt: skip
    axes[0, 0].set_title(title, fontsize=9)
    return save(fig, path)


def plot_potential(fit: Any, parameters: list[dict[str, Any]], path: str | os.PathLike[str], *, count: int = 4) -> Path:
    """The potential recovered from ``psi`` (points) over the stored ``V(r*)`` (line) for a few trajectories."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.0, 4.0), constrained_layout=True)
    for i in range(min(count, len(fit.recovered))):
        p = parameters[i]
        label = f"s = {p['s']}, l = {p['l']}, M = {p['mass']:.2f} ({p['equation']})"
        (line,) = ax.plot(fit.r_star, fit.stored[i], lw=1.0, label=label)
        ax.plot(fit.r_star, fit.recovered[i], ".", ms=2.5, color=line.get_color())
    ax.set(
        xlabel="r* [M]", ylabel="V [1/M^2]", title="V(r*) recovered from psi (points) against the simulator's (lines)"
    )
    ax.legend(fontsize=7)
    return save(fig, path)
