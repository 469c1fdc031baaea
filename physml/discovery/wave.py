"""The wave equation near a black hole, and its potential, recovered from snapshots ``psi(t, r*)``.

Every perturbation of a Schwarzschild hole obeys ``psi_tt = psi_r*r* - V(r*) psi``
(Regge–Wheeler or Zerilli), with ``r*`` the tortoise coordinate.
:func:`discover_wave_equation` regresses ``psi_tt`` on ``psi``, its ``r*``
derivatives up to 4th order, ``V psi`` with the stored potential, and ``psi^3``,
in the weak form (:class:`~physml.discovery.weak.TestFunctions`): the domain is
not periodic and the saves are coarse, so no derivative of the data is taken.

:func:`recover_potential` then treats ``V`` as unknown: with the wave operator
found, ``V(r*) ∫ phi psi dt = ∫ phi psi_r*r* dt - ∫ phi_tt psi dt`` at every grid
point gives ``V`` wherever the field passed, and ``r(r*)`` (Lambert's W) turns it
into ``V(r)``, to compare with Regge–Wheeler and Zerilli, and, for Regge–Wheeler,
to fit ``V / (1 - 2M/r)`` in powers of ``M/r``: ``l(l+1)/r^2 + 2(1-s^2) M/r^3``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from physml.discovery.schrodinger import Discovery, add_noise, check_settings, file_rows
from physml.discovery.sparse import sparse_fit
from physml.discovery.weak import TestFunctions, bumps

__all__ = ["MasterFields", "PotentialFit", "discover_wave_equation", "read_master_fields", "recover_potential"]

TERMS = ("psi", "psi_r", "psi_rr", "psi_rrr", "psi_rrrr", "V psi", "psi^3")
TRUTH = {("psi_tt", "psi_rr"): 1.0, ("psi_tt", "V psi"): -1.0}


@dataclass(frozen=True)
class MasterFields:
    """``psi`` ``(trajectories, times, r*)``, the stored potential ``(trajectories, r*)``, uniform ``times`` and
    ``r_star``, and each trajectory's ``s``, ``l``, ``mass`` and ``equation``."""

    psi: np.ndarray
    potential: np.ndarray
    times: np.ndarray
    r_star: np.ndarray
    parameters: list[dict[str, Any]]


def read_master_fields(
    path: str | os.PathLike[str], *, split: str | None = None, trajectories: int | None = None
) -> MasterFields:
    """The snapshots of a physml ``near_horizon`` 1D file (all of ``split``, or its first ``trajectories``)."""
    import h5py

    from physml.datasets import read_parameters

    info, groups, rows = file_rows(path, ("psi", "potential"), "the wave-equation discovery needs a near_horizon 1D "
                                   "file", split=split, trajectories=trajectories)  # fmt: skip
    if info.spatial_dims != ["r_star"]:
        raise ValueError(f"{path} is not on r*: the wave-equation discovery needs a near_horizon 1D file")
    params = read_parameters(info)
    with h5py.File(path, "r") as f:
        psi = f[groups["psi"]]["psi"][rows].astype(np.float64)
        potential = f[groups["potential"]]["potential"][rows].astype(np.float64)
        times = f["dimensions/time"][...].astype(np.float64)
        r_star = f["dimensions/r_star"][...].astype(np.float64)
    return MasterFields(psi, potential, times, r_star, [params[i] for i in rows])


def _weak_system(data: MasterFields, tests: tuple[int, int], widths: tuple[int, int], degree: int, presence: float):
    phi = TestFunctions(data.times, (data.r_star,), counts=tests, widths=widths, degree=degree, orders=(2, 4))
    psi, V = data.psi, data.potential[:, None]
    columns = [(-1) ** k * phi.integrate(psi, 0, (k,)) for k in range(5)]
    columns += [phi.integrate(V * psi), phi.integrate(psi**3)]
    theta = np.stack([c.reshape(-1) for c in columns], axis=1)
    y = phi.integrate(psi, 2).reshape(-1)[:, None]  # ∫ phi psi_tt = ∫ phi_tt psi
    groups = np.repeat(np.arange(len(psi)), theta.shape[0] // len(psi))
    live = phi.where(psi**2, presence)
    return theta[live], y[live], groups[live]


def discover_wave_equation(
    data: MasterFields | str | os.PathLike[str],
    *,
    noise: float = 0.0,
    threshold: float = 0.01,
    bootstrap: int = 50,
    seed: int = 0,
    tests: tuple[int, int] = (16, 48),
    widths: tuple[int, int] = (8, 12),
    degree: int = 8,
    presence: float = 0.1,
    split: str | None = None,
    trajectories: int | None = None,
) -> Discovery:
    """Recover ``psi_tt = psi_r*r* - V psi`` (weak form); see the module doc and
    :func:`~physml.discovery.schrodinger.discover_schrodinger` for the settings."""
    check_settings(noise=noise, threshold=threshold, bootstrap=bootstrap, seed=seed, trajectories=trajectories)
    source = "snapshots"
    if not isinstance(data, MasterFields):
        source = str(Path(data))
        data = read_master_fields(data, split=split, trajectories=trajectories)
    if noise > 0:
        data = dataclasses.replace(data, psi=add_noise(data.psi, noise, seed))
    theta, y, groups = _weak_system(data, tests, widths, degree, presence)
    fit = sparse_fit(theta, y, terms=TERMS, targets=["psi_tt"], groups=groups, threshold=threshold,
                     bootstrap=bootstrap, seed=seed)  # fmt: skip
    return Discovery(fit, dict(TRUTH), "weak", noise, source)


@dataclass(frozen=True)
class PotentialFit:
    """``V(r*)`` recovered per trajectory (NaN where the field never passed), against the stored potential.

    ``error``: per trajectory, the RMS of ``V_fit - V`` over the points recovered, relative to the
    barrier's height. ``series``: for Regge–Wheeler trajectories, a sparse fit of ``V(r)`` over
    ``(M/r)^2 .. (M/r)^6`` (in units of ``1/M^2``), with the true coefficients.
    """

    r_star: np.ndarray
    recovered: np.ndarray
    stored: np.ndarray
    error: np.ndarray
    series: list[dict[str, Any]]

    def series_agreement(self) -> dict[str, float]:
        """Share of the Regge–Wheeler fits with ``l(l+1)`` within 1 % (0.01 absolute for l = 0), ``2(1 - s^2)``
        within 0.05, and every other power below 0.05: where the field reached close enough to the hole."""
        if not self.series:
            return {"leading": math.nan, "second": math.nan, "rest": math.nan}
        c = np.array([s["coefficients"] for s in self.series])
        t = np.array([s["true"] for s in self.series])
        return {"leading": float(np.mean(np.abs(c[:, 0] - t[:, 0]) <= 0.01 * np.maximum(t[:, 0], 1.0))),
                "second": float(np.mean(np.abs(c[:, 1] - t[:, 1]) <= 0.05)),
                "rest": float(np.mean(np.abs(c[:, 2:]).max(axis=1) <= 0.05))}  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error.tolist(), "median_error": float(np.nanmedian(self.error)), "series": self.series,
                "agreement": self.series_agreement()}  # fmt: skip


def recover_potential(
    data: MasterFields | str | os.PathLike[str],
    *,
    tests: int = 24,
    width: int = 8,
    degree: int = 8,
    presence: float = 1e-3,
    split: str | None = None,
    trajectories: int | None = None,
) -> PotentialFit:
    """``V(r*)`` from ``psi`` alone, given the wave operator (see the module doc).

    At each ``r*`` the least-squares ``V`` over ``tests`` time test functions (half-width ``width``
    saves); ``psi_r*r*`` by the method of lines' 4th-order central difference. A point is recovered where ``∫ psi^2 dt``
    there is at least ``presence`` of its largest value along ``r*``.
    """
    if not isinstance(data, MasterFields):
        data = read_master_fields(data, split=split, trajectories=trajectories)
    from physml.simulators.near_horizon.method_of_lines import second_derivative

    if degree <= 2:
        raise ValueError(f"degree = {degree} is invalid: must exceed the highest derivative taken, 2")
    psi = data.psi
    psi_rr = np.full_like(psi, np.nan)
    psi_rr[..., 2:-2] = second_derivative(psi, data.r_star[1] - data.r_star[0])  # the simulator's own stencil
    weights = bumps(data.times, tests, width, degree, 2)  # (3, L, nt): phi, phi_t, phi_tt
    a = np.einsum("lt,atx->alx", weights[0], psi_rr) - np.einsum("lt,atx->alx", weights[2], psi)
    b = np.einsum("lt,atx->alx", weights[0], psi)  # V b = a, per (trajectory, test function, r*)
    power = (b**2).sum(axis=1)
    recovered = (a * b).sum(axis=1) / np.where(power > 0, power, np.inf)
    live = power >= presence * power.max(axis=1, keepdims=True)
    recovered = np.where(live & np.isfinite(recovered), recovered, np.nan)
    height = data.potential.max(axis=1)
    error = np.sqrt(np.nanmean((recovered - data.potential) ** 2, axis=1)) / height
    series = [_series(data, i, recovered[i]) for i in range(len(psi)) if data.parameters[i]["equation"] ==
              "regge-wheeler"]  # fmt: skip
    return PotentialFit(data.r_star, recovered, data.potential, error, series)


def _series(data: MasterFields, i: int, recovered: np.ndarray) -> dict[str, Any]:
    """Sparse fit of the recovered ``V(r) / (1 - 2M/r)`` on ``(M/r)^2 .. (M/r)^6`` against Regge–Wheeler's.

    Every perturbation potential of Schwarzschild carries the lapse ``1 - 2M/r`` as a factor; what remains
    for Regge–Wheeler is two powers, ``l(l+1) (M/r)^2 + 2(1 - s^2) (M/r)^3`` (units ``1/M^2``). Points where
    the lapse is below 0.1 (``r < 2.2 M``) are left out: dividing by it would amplify their error.
    """
    from physml.simulators.near_horizon.potentials import radius_from_tortoise

    p = data.parameters[i]
    m, s, ell = float(p["mass"]), int(p["s"]), int(p["l"])
    x_all = m / radius_from_tortoise(data.r_star, m)
    ok = np.isfinite(recovered) & (1 - 2 * x_all >= 0.1)  # dividing by a lapse near 0 would amplify any error
    x = x_all[ok]
    powers = list(range(2, 7))
    basis = np.stack([x**k for k in powers], axis=1) / m**2
    fit = sparse_fit(basis, recovered[ok] / (1 - 2 * x), terms=[f"(M/r)^{k}" for k in powers], targets=["V/f"],
                     threshold=1e-3, bootstrap=0)  # fmt: skip
    truth = [ell * (ell + 1), 2 * (1 - s**2), 0.0, 0.0, 0.0]
    return {"trajectory": i, "s": s, "l": ell, "mass": m, "powers": powers,
            "coefficients": fit.coefficients[0].tolist(), "true": truth, "points": int(ok.sum())}  # fmt: skip
