"""PDE-FIND on wave functions: recover the Schrödinger equation from ``psi(t, x)`` and the potential alone.

With ``psi = u + i v`` the equation ``i hbar psi_t = -(hbar^2 / 2m) Δpsi + V psi``
is the real pair ``u_t = -(hbar/2m) Δv + V v / hbar`` and ``v_t = (hbar/2m) Δu -
V u / hbar``. :func:`discover_schrodinger` regresses ``u_t`` and ``v_t`` on a
library of candidate terms, for both components: every spatial derivative up
to ``max_order`` (``∂^k u``, ``∂^k v``; in 2D every mixed derivative too), the
products with the potential ``V u``, ``V v`` and the cubic nonlinearity
``|psi|^2 u``, ``|psi|^2 v``. A sparse fit (:func:`~physml.discovery.sparse.sparse_fit`)
keeps the terms the data need; the truth has four.

Two forms of the regression:

* ``strong``: pointwise, with spectral ``x`` derivatives (exact for a
  resolved periodic field) and an 8th-order central difference in time. It
  needs finely sampled times and clean data: a derivative amplifies noise.
* ``weak`` (weak SINDy, Messenger & Bortz 2021): the equation is multiplied by
  smooth test functions ``phi(t) phi(x)`` with compact support and integrated;
  integration by parts moves every derivative onto ``phi``, known exactly, so no
  derivative of the data is taken. Integrating averages the noise out, and the
  rectangle rule is spectrally accurate on integrands that vanish smoothly at
  both ends, so coarse time sampling is fine as long as it resolves the phase.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from physml.discovery.sparse import SparseFit, check_count, sparse_fit
from physml.discovery.weak import TestFunctions

__all__ = ["FORMS", "Discovery", "WaveFunctions", "discover_schrodinger", "read_wave_functions", "true_coefficients"]

FORMS = ("weak", "strong")
#: Central-difference weights of the first derivative, 8th order (offsets 1..4; antisymmetric).
_CENTRAL8 = np.array([4 / 5, -1 / 5, 4 / 105, -1 / 280])


@dataclass(frozen=True)
class WaveFunctions:
    """``psi`` ``(trajectories, times, *space)`` (complex), the potential ``(trajectories, *space)``,
    uniform ``times`` and spatial ``axes`` (periodic), and the ``hbar``, ``mass`` of the data."""

    psi: np.ndarray
    potential: np.ndarray
    times: np.ndarray
    axes: tuple[np.ndarray, ...]
    hbar: float
    mass: float
    trajectories: np.ndarray

    @property
    def ndim(self) -> int:
        return len(self.axes)


def file_rows(
    path: str | os.PathLike[str], fields: tuple[str, ...], what: str, *, split: str | None, trajectories: int | None
) -> tuple[Any, dict[str, str], np.ndarray]:
    """``(info, field -> group, rows)``: the completed trajectories of ``split`` (the first ``trajectories``).

    ``ValueError`` naming ``what`` needs them if the file lacks one of ``fields``.
    """
    from physml.datasets import read_info

    check_count("trajectories", trajectories, 1)
    info = read_info(path)
    groups = {n: g for g, names in info.field_names.items() for n in names}
    missing = [n for n in fields if n not in groups]
    if missing:
        raise ValueError(f"{path} has no field(s) {missing}: {what}")
    chosen = info.completed.copy()
    if split is not None:
        chosen &= info.splits == split
    rows = np.flatnonzero(chosen)[:trajectories]
    if len(rows) == 0:
        raise ValueError(f"{path} has no completed trajectories in split {split!r}")
    return info, groups, rows


def read_wave_functions(
    path: str | os.PathLike[str], *, split: str | None = None, trajectories: int | None = None
) -> WaveFunctions:
    """The wave functions of a physml ``schrodinger`` file (all of ``split``, or its first ``trajectories``)."""
    import h5py

    from physml.datasets import read_parameters

    info, groups, rows = file_rows(path, ("psi_real", "psi_imag", "potential"),
                                   "PDE-FIND on wave functions needs psi and the potential", split=split,
                                   trajectories=trajectories)  # fmt: skip
    params = read_parameters(info)
    constants = {(params[i]["hbar"], params[i]["mass"]) for i in rows}
    if len(constants) != 1:
        raise ValueError(f"{path} mixes (hbar, mass) = {sorted(constants)}: discover one set of constants at a time")
    ((hbar, mass),) = constants
    if any(params[i].get("absorber_width", 0.0) or params[i].get("drive_field", 0.0) for i in rows):
        raise ValueError(f"{path} has an absorber or a drive: the library holds neither")
    with h5py.File(path, "r") as f:
        psi = f[groups["psi_real"]]["psi_real"][rows] + 1j * f[groups["psi_imag"]]["psi_imag"][rows]
        potential = f[groups["potential"]]["potential"][rows]
        times = f["dimensions/time"][...]
        axes = tuple(f["dimensions"][name][...] for name in info.spatial_dims)
    if potential.ndim == psi.ndim:  # stored per save: it must not change in time
        if not np.allclose(potential, potential[:, :1]):
            raise ValueError(f"{path} has a time-dependent potential: the library assumes V(x)")
        potential = potential[:, 0]
    return WaveFunctions(psi.astype(np.complex128), potential.astype(np.float64), times.astype(np.float64), axes,
                         float(hbar), float(mass), rows)  # fmt: skip


def _multi_indices(ndim: int, max_order: int) -> list[tuple[int, ...]]:
    """Derivative orders per axis, total order 1..max_order, lowest first."""
    out = [i for n in range(1, max_order + 1) for i in itertools.product(range(n + 1), repeat=ndim) if sum(i) == n]
    return sorted(set(out), key=lambda i: (sum(i), tuple(-k for k in i)))


def _name(component: str, index: tuple[int, ...], axes: tuple[str, ...]) -> str:
    return component + ("_" + "".join(a * k for a, k in zip(axes, index)) if sum(index) else "")


def term_names(ndim: int, max_order: int) -> list[str]:
    """The library: ``u, v``, their derivatives, ``V u, V v, |psi|^2 u, |psi|^2 v``."""
    axes = ("x", "y")[:ndim]
    names = ["u", "v"]
    for index in _multi_indices(ndim, max_order):
        names += [_name("u", index, axes), _name("v", index, axes)]
    return [*names, "V u", "V v", "|psi|^2 u", "|psi|^2 v"]


def true_coefficients(hbar: float, mass: float, ndim: int) -> dict[tuple[str, str], float]:
    """``(target, term) -> coefficient`` of the Schrödinger equation in this library."""
    c = hbar / (2 * mass)
    truth = {("u_t", "V v"): 1 / hbar, ("v_t", "V u"): -1 / hbar}
    for axis in ("x", "y")[:ndim]:
        truth[("u_t", f"v_{axis}{axis}")] = -c
        truth[("v_t", f"u_{axis}{axis}")] = c
    return truth


def _spectral(field: np.ndarray, index: tuple[int, ...], axes: tuple[np.ndarray, ...]) -> np.ndarray:
    """``∂^index field`` over the last ``len(axes)`` axes (periodic, spectral)."""
    spectrum = np.fft.fftn(field, axes=tuple(range(-len(axes), 0)))
    for d, (axis, order) in enumerate(zip(axes, index)):
        if order:
            k = 2 * np.pi * np.fft.fftfreq(len(axis), axis[1] - axis[0])
            shape = [1] * field.ndim
            shape[field.ndim - len(axes) + d] = -1
            spectrum = spectrum * ((1j * k) ** order).reshape(shape)
    return np.fft.ifftn(spectrum, axes=tuple(range(-len(axes), 0)))


def _strong(data: WaveFunctions, max_order: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pointwise library rows ``(N, p)``, targets ``(N, 2)`` and each row's trajectory."""
    dt = data.times[1] - data.times[0]
    psi, V = data.psi, data.potential[:, None]
    if psi.shape[1] < 9:
        raise ValueError(f"{psi.shape[1]} times are too few for the 8th-order time derivative: need >= 9")
    inner = slice(4, psi.shape[1] - 4)
    psi_t = sum(w * (psi[:, 4 + j : psi.shape[1] - 4 + j] - psi[:, 4 - j : psi.shape[1] - 4 - j])
                for j, w in zip(range(1, 5), _CENTRAL8)) / dt  # fmt: skip
    core = psi[:, inner]
    columns = [core.real, core.imag]
    for index in _multi_indices(data.ndim, max_order):
        d = _spectral(core, index, data.axes)
        columns += [d.real, d.imag]
    density = np.abs(core) ** 2
    columns += [V * core.real, V * core.imag, density * core.real, density * core.imag]
    theta = np.stack([c.reshape(-1) for c in columns], axis=1)
    y = np.stack([psi_t.real.reshape(-1), psi_t.imag.reshape(-1)], axis=1)
    groups = np.repeat(np.arange(len(psi)), core[0].size)
    return theta, y, groups


def _weak(
    data: WaveFunctions, max_order: int, tests: tuple[int, int], widths: tuple[int, int], degree: int,
    presence: float,
):  # fmt: skip
    """Integrated library rows, one per test function ``phi(t) phi(x) (phi(y))`` and trajectory."""
    if data.psi.shape[1] < 2 * widths[0] + 1:
        raise ValueError(f"{data.psi.shape[1]} times are too few for test functions {2 * widths[0] + 1} saves wide")
    phi = TestFunctions(data.times, data.axes, counts=tests, widths=widths, degree=degree, orders=(1, max_order))
    integrate = phi.integrate
    psi = data.psi
    V = data.potential[:, None]
    zero = (0,) * data.ndim
    u, v = psi.real, psi.imag
    sign = {index: (-1) ** sum(index) for index in _multi_indices(data.ndim, max_order)}
    columns = [integrate(u, 0, zero), integrate(v, 0, zero)]
    for index in _multi_indices(data.ndim, max_order):
        columns += [sign[index] * integrate(u, 0, index), sign[index] * integrate(v, 0, index)]
    density = np.abs(psi) ** 2
    columns += [integrate(V * u, 0, zero), integrate(V * v, 0, zero),
                integrate(density * u, 0, zero), integrate(density * v, 0, zero)]  # fmt: skip
    theta = np.stack([c.reshape(-1) for c in columns], axis=1)
    y = np.stack([-integrate(u, 1, zero).reshape(-1), -integrate(v, 1, zero).reshape(-1)], axis=1)
    groups = np.repeat(np.arange(len(psi)), theta.shape[0] // len(psi))
    # Only where the wave function lives: elsewhere a test function integrates noise alone, and the potential's
    # walls (V of hundreds where psi ~ 0) multiply it into the V psi columns.
    live = phi.where(density, presence)
    return theta[live], y[live], groups[live]


@dataclass(frozen=True)
class Discovery:
    """A discovery's result: the fit, the known law, and how the one scores against the other."""

    fit: SparseFit
    truth: dict[tuple[str, str], float]
    form: str
    noise: float
    source: str

    def errors(self) -> dict[tuple[str, str], float]:
        """Relative error of each true coefficient (1 where the fit dropped it)."""
        return {key: abs(self.fit.coefficients[self.fit.targets.index(key[0]), self.fit.terms.index(key[1])] - c)
                / abs(c) for key, c in self.truth.items()}  # fmt: skip

    def spurious(self) -> list[tuple[str, str]]:
        """Kept terms that the equation does not have."""
        return [(target, term) for target in self.fit.targets for term in self.fit.support(target)
                if (target, term) not in self.truth]  # fmt: skip

    @property
    def max_error(self) -> float:
        return max(self.errors().values())

    def equation(self) -> Any:
        """One ``sympy.Eq(target, fitted terms)`` per target (``u_t``, ``v_t``...), numbers to 6 digits."""
        import sympy

        fit = self.fit
        terms = {t: sympy.Symbol(t.replace("|psi|^2", "|ψ|²").replace(" ", "·")) for t in fit.terms}
        rhs = {target: sum(sympy.Float(c, 6) * terms[t] for t, c in fit.support(target).items())
               for target in fit.targets}  # fmt: skip
        return [sympy.Eq(sympy.Symbol(target), rhs[target]) for target in fit.targets]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "form": self.form,
            "noise": self.noise,
            "fit": self.fit.to_dict(),
            "truth": [{"target": t, "term": term, "coefficient": c} for (t, term), c in self.truth.items()],
            "errors": [{"target": t, "term": term, "relative_error": e} for (t, term), e in self.errors().items()],
            "max_error": self.max_error,
            "spurious": [{"target": t, "term": term} for t, term in self.spurious()],
            "equations": [str(eq) for eq in self.equation()],
        }


def add_noise(values: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """``values`` plus Gaussian noise of RMS ``noise`` times theirs (split evenly over real and imaginary parts)."""
    rng = np.random.default_rng(seed + 7919)
    scale = noise * np.sqrt(np.mean(np.abs(values) ** 2))
    if np.iscomplexobj(values):
        scale /= math.sqrt(2)
        return values + scale * (rng.standard_normal(values.shape) + 1j * rng.standard_normal(values.shape))
    return values + scale * rng.standard_normal(values.shape)


def check_settings(
    *, form: str = "weak", noise: float = 0.0, max_order: int | None = None, threshold: float = 0.01,
    bootstrap: int = 50, seed: int = 0, trajectories: int | None = None,
) -> None:  # fmt: skip
    """``ValueError`` naming the first setting of :func:`discover_schrodinger` out of its range (before any work)."""
    if form not in FORMS:
        raise ValueError(f"form = {form!r} is invalid: choose one of {', '.join(FORMS)}")
    if not (isinstance(noise, int | float) and math.isfinite(noise) and 0 <= noise < 1):
        raise ValueError(f"noise = {noise!r} is invalid: must be in [0, 1) (a fraction of psi's RMS)")
    if max_order is not None and (isinstance(max_order, bool) or not isinstance(max_order, int)
                                  or not 2 <= max_order <= 6):  # fmt: skip
        raise ValueError(f"max_order = {max_order!r} is invalid: must be 2 .. 6 (the equation is second order)")
    if not (isinstance(threshold, int | float) and 0 < threshold < 1):
        raise ValueError(f"threshold = {threshold!r} is invalid: must be in (0, 1) (a share of the target's RMS)")
    check_count("bootstrap", bootstrap, 0, 1000)
    check_count("seed", seed, 0)
    check_count("trajectories", trajectories, 1)


def discover_schrodinger(
    data: WaveFunctions | str | os.PathLike[str],
    *,
    form: str = "weak",
    noise: float = 0.0,
    max_order: int | None = None,
    threshold: float = 0.01,
    bootstrap: int = 50,
    seed: int = 0,
    tests: tuple[int, int] = (12, 24),
    widths: tuple[int, int] | None = None,
    degree: int = 8,
    presence: float = 0.05,
    max_rows: int = 200_000,
    split: str | None = None,
    trajectories: int | None = None,
) -> Discovery:
    """Recover the Schrödinger equation from wave functions (a file, or :class:`WaveFunctions`).

    Parameters
    ----------
    form
        ``"weak"`` (test-function integrals; robust to noise and coarse saves) or ``"strong"``.
    noise
        Gaussian noise added to ``psi`` before discovery, as a fraction of its RMS (a robustness test).
    max_order
        Highest spatial derivative in the library (default 4 in 1D, 3 in 2D).
    threshold, bootstrap, seed
        The sparse fit's (:func:`~physml.discovery.sparse.sparse_fit`); bootstrap blocks are trajectories.
    tests, widths, degree
        Weak form: test functions along time and along each space axis, their half-widths in
        saves and grid points (default: a quarter of the times, a twelfth of the grid), and
        their degree ``p`` in ``(1 - s^2)^p`` (> ``max_order``).
    presence
        Weak form: a test function is used only where the mean of ``|psi|^2`` under it is at least
        this fraction of the largest such mean (where the wave function lives).
    max_rows
        Strong form: rows used at most (drawn at random; all trajectories keep theirs in proportion).
    """
    check_settings(form=form, noise=noise, max_order=max_order, threshold=threshold, bootstrap=bootstrap, seed=seed,
                   trajectories=trajectories)  # fmt: skip
    source = "wave functions"
    if not isinstance(data, WaveFunctions):
        source = str(Path(data))
        data = read_wave_functions(data, split=split, trajectories=trajectories)
    if max_order is None:
        max_order = 4 if data.ndim == 1 else 3
    if not np.allclose(np.diff(data.times), data.times[1] - data.times[0], rtol=1e-6):
        raise ValueError("the saves are not evenly spaced in time: both forms need uniform saves")
    if noise > 0:
        data = dataclasses.replace(data, psi=add_noise(data.psi, noise, seed))
    if form == "weak":
        if degree <= max_order:
            raise ValueError(f"degree = {degree} is invalid: must exceed max_order = {max_order} (test functions "
                             "must vanish with every derivative the library takes)")  # fmt: skip
        if widths is None:
            widths = (max(2, data.psi.shape[1] // 4), max(4, len(data.axes[0]) // 12))
        theta, y, groups = _weak(data, max_order, tests, widths, degree, presence)
    else:
        theta, y, groups = _strong(data, max_order)
        if len(theta) > max_rows:
            keep = np.sort(np.random.default_rng(seed).choice(len(theta), max_rows, replace=False))
            theta, y, groups = theta[keep], y[keep], groups[keep]
    fit = sparse_fit(theta, y, terms=term_names(data.ndim, max_order), targets=["u_t", "v_t"], groups=groups,
                     threshold=threshold, bootstrap=bootstrap, seed=seed)  # fmt: skip
    return Discovery(fit, true_coefficients(data.hbar, data.mass, data.ndim), form, noise, source)
