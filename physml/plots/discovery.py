"""Figures of discoveries: each recovered coefficient with its bootstrap spread, next to the known law."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from physml.plots import pyplot, save

__all__ = ["plot_coefficients", "plot_potential", "plot_ringdown_laws"]


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


def plot_ringdown_laws(laws: Any, tails: Any, path: str | os.PathLike[str]) -> Path:
    """Quasinormal frequencies against ``1/L`` (measured, fitted law, large-``l`` expansion) and tail exponents."""
    import math

    from physml.discovery.ringdown import TERMS, eikonal_expansion, library

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13.0, 3.8), constrained_layout=True)
    table = laws.table
    fine_l = np.linspace(2.0, max(8.0, float(table.l.max())), 200)
    for s in sorted(set(table.s.tolist())):
        on = table.s == s
        big_l = table.l[on] + 0.5
        w = math.sqrt(27) * table.omega[on]
        theta = library(np.full_like(fine_l, s), fine_l)
        fitted = [theta @ np.array([laws.coefficient(part, t)[0] for t in TERMS]) for part in ("Re", "Im")]
        expansion = math.sqrt(27) * np.array([eikonal_expansion(s, ell) for ell in fine_l])
        (dots,) = axes[0].plot(1 / big_l, w.real - big_l, "o", ms=4, label=f"s = {s}")
        axes[0].plot(1 / (fine_l + 0.5), fitted[0] - (fine_l + 0.5), color=dots.get_color(), lw=1.0)
        axes[0].plot(1 / (fine_l + 0.5), expansion.real - (fine_l + 0.5), ":", color=dots.get_color(), lw=1.0)
        axes[1].plot(1 / big_l**2, w.imag, "o", ms=4, color=dots.get_color())
        axes[1].plot(1 / (fine_l + 0.5) ** 2, fitted[1], color=dots.get_color(), lw=1.0)
        axes[1].plot(1 / (fine_l + 0.5) ** 2, expansion.imag, ":", color=dots.get_color(), lw=1.0)
    axes[0].set(xlabel="1 / (l + 1/2)", ylabel="Re √27 Mω − (l + 1/2)", title="real part")
    axes[1].set(xlabel="1 / (l + 1/2)²", ylabel="Im √27 Mω", title="measured (o), fitted (—), expansion (···)")
    axes[0].legend(fontsize=7)
    ax = axes[2]
    ax.errorbar(tails.l + 0.08 * (tails.s - 1), tails.exponent, yerr=tails.error, fmt="o", ms=4, capsize=2,
                label="measured (offset by s)")  # fmt: skip
    ells = np.arange(0, int(tails.l.max()) + 1)
    law = tails.integer_law()
    written = " ".join(f"{c:+d}" if t == "1" else f"{c:+d} {t}" for t, c in law.items()) or "none"
    ax.plot(ells, law.get("1", 0) + law.get("l", 0) * ells, "k-", lw=1.0, label=f"integer law p = {written} (s = 0)")
    ax.set(xlabel="l", ylabel="tail exponent p (psi ~ t^p)", title="late-time tails at fixed r")
    ax.legend(fontsize=7)
    return save(fig, path)
