"""Figures of near-horizon runs: waveforms, ψ(t, r*), field maps and ringdown fits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from physml.plots import pyplot, save

if TYPE_CHECKING:
    from physml.datasets.simulate import SimulatedRun
    from physml.simulators.near_horizon import FieldMap
    from physml.simulators.near_horizon.analysis import RingdownAnalysis

__all__ = ["plot_field_map", "plot_ringdown", "plot_run"]


def plot_run(run: SimulatedRun, path: str | os.PathLike[str]) -> Path:
    """``|ψ|`` of every stored waveform against ``t`` (ringdown and tail), and ``ψ(t, r*)`` for the method of lines."""
    from physml.simulators.near_horizon.potentials import radius_from_tortoise

    plt = pyplot()
    params, times, scalars = run.params, run.times, run.trajectory.scalars
    perturbation = run.family.perturbation(params, params["l"])
    mol = params["scheme"] == "mol"
    fig, axes = plt.subplots(
        1, 2 if mol else 1, figsize=(13 if mol else 6.5, 4.2), constrained_layout=True, squeeze=False
    )
    ax = axes[0, 0]
    waveforms = np.array([scalars[run.family.waveform_name(x)] for x in params["extract_at"]])  # (n_obs, n_t)
    radii = radius_from_tortoise(np.array(params["extract_at"]), params["mass"])
    for x, r, waveform in zip(params["extract_at"], radii, waveforms):
        ax.semilogy(times, np.abs(waveform) + 1e-300, lw=0.9, label=f"r* = {x:g} M (r = {r:.6g} M)")
    peak = np.nanmax(np.abs(waveforms))
    ax.set_ylim(max(1e-16 * peak, np.nanmin(np.abs(waveforms[:, -1])) / 10), 2 * peak)
    ax.set(xlabel="t / M", ylabel="|ψ|", title=f"{perturbation.describe()} — {params['scheme']}, h = {params['h']:g} M")
    ax.legend(fontsize=7)
    if mol:
        ax = axes[0, 1]
        psi = run.trajectory.fields["psi"]  # (n_t, n_r*)
        limit = np.max(np.abs(psi))
        image = ax.pcolormesh(
            run.layout.axes["r_star"], times, psi, cmap="RdBu_r", vmin=-limit, vmax=limit, shading="auto"
        )
        fig.colorbar(image, ax=ax, label="ψ")
        ax.axvline(perturbation.peak.r_star, color="k", lw=0.6, ls="--", label="potential peak")
        ax.set(xlabel="r* / M", ylabel="t / M")
        ax.legend(fontsize=7, loc="upper left")
    return save(fig, path)


def plot_field_map(maps: FieldMap, path: str | os.PathLike[str], *, frames: int = 4) -> Path:
    """``frames`` snapshots of the meridional-plane field, the horizon drawn black."""
    plt = pyplot()
    index = np.linspace(0, len(maps.t) - 1, frames).round().astype(int)
    fig, axes = plt.subplots(1, frames, figsize=(3.3 * frames, 3.3), constrained_layout=True, squeeze=False)
    limit = np.max(np.abs(maps.values)) or 1.0
    for ax, k in zip(axes[0], index):
        shown = np.where(maps.outside, maps.values[k], np.nan).T  # (z, x) for imshow
        ax.imshow(
            shown,
            origin="lower",
            extent=(maps.x[0], maps.x[-1], maps.z[0], maps.z[-1]),
            cmap="RdBu_r",
            vmin=-limit,
            vmax=limit,
        )
        ax.set_facecolor("k")  # masked pixels: inside the horizon
        ax.set_title(f"t = {maps.t[k]:.3g} M", fontsize=9)
        ax.set_xlabel("x / M")
    axes[0, 0].set_ylabel("z / M")
    return save(fig, path)


def plot_ringdown(
    t: np.ndarray, y: np.ndarray, result: RingdownAnalysis, path: str | os.PathLike[str], *, title: str = ""
) -> Path:
    """``|ψ|`` with the fitted ringdown (and tail), and the fit's residual in its window."""
    plt = pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(7, 6), sharex=True, constrained_layout=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.semilogy(t, np.abs(y) + 1e-300, "k", lw=0.8, label="waveform")
    window = (t >= result.t_start) & (t <= result.t_end)
    model = result.qnm.fit.model(t[window])
    w = result.qnm.omega0
    top.semilogy(
        t[window], np.abs(model) + 1e-300, "C1--", lw=1.0, label=f"ringdown fit: Mω₀ = {w.real:.5f} {w.imag:+.5f}i"
    )
    if result.tail is not None:
        late = (t >= result.tail_window[0]) & (t <= result.tail_window[1])
        fit = result.tail
        top.semilogy(
            t[late], fit.amplitude * (t[late] - fit.t0) ** fit.exponent, "C2--", label=f"tail fit: t^{fit.exponent:.3f}"
        )
    top.axvspan(result.t_start, result.t_end, color="C1", alpha=0.08)
    top.set_ylabel("|ψ|")
    top.set_title(title, fontsize=9)
    top.legend(fontsize=8)
    bottom.semilogy(t[window], np.abs(y[window] - model) + 1e-300, "C3", lw=0.8)
    bottom.set_ylabel("|residual|")
    bottom.set_xlabel("t / M")
    return save(fig, path)
