"""Sparse regression with uncertainties: which library terms a target needs, and how sure the data are.

:func:`sparse_fit` solves ``y ≈ Θ ξ`` for a sparse ``ξ`` with pysindy's
sequentially thresholded least squares (STLSQ, the PDE-FIND / SINDy
optimiser). Columns are scaled to unit RMS and each target to unit RMS first,
so ``threshold`` reads as "a term is dropped when it carries less than this
fraction of the target". Uncertainties come from a block bootstrap: the fit is
repeated on groups of rows (trajectories) drawn with replacement. pysindy's own
ensembling (``EnsembleOptimizer``) draws single rows, which understates the
spread when neighbouring rows of one trajectory are correlated, as the points
of one simulated field are; it also draws from numpy's global generator.

A fit is *identifiable* only if the kept columns are well conditioned, every
kept term survives (nearly) every bootstrap fit, and its coefficient's spread is
small: otherwise the result says why, instead of a confident wrong formula.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SparseFit", "check_count", "sparse_fit"]


@dataclass(frozen=True)
class SparseFit:
    """The sparse model of each target over a library of named terms.

    ``coefficients[i, j]``: target ``i``'s coefficient of term ``j`` (0 where dropped), fitted on all
    rows; ``mean`` and ``std`` over the bootstrap fits; ``kept``: the share of bootstrap fits that kept
    each term. ``residual``: ``|y - Θ ξ| / |y|`` per target. ``condition``: the condition number of the
    kept columns (unit-RMS scaled). ``identifiable`` is ``False`` with a ``reason`` when the data do not
    pin the model down.
    """

    terms: tuple[str, ...]
    targets: tuple[str, ...]
    coefficients: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    kept: np.ndarray
    residual: np.ndarray
    condition: float
    identifiable: bool
    reason: str = ""
    settings: dict = field(default_factory=dict)

    def support(self, target: str) -> dict[str, float]:
        """Term -> coefficient of the terms ``target`` keeps."""
        row = self.coefficients[self.targets.index(target)]
        return {t: float(c) for t, c in zip(self.terms, row) if c != 0}

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return {
            "terms": list(self.terms),
            "targets": list(self.targets),
            "coefficients": self.coefficients.tolist(),
            "bootstrap_mean": self.mean.tolist(),
            "bootstrap_std": self.std.tolist(),
            "kept_share": self.kept.tolist(),
            "residual": self.residual.tolist(),
            "condition": self.condition,
            "identifiable": self.identifiable,
            "reason": self.reason,
            "settings": self.settings,
        }


def check_count(name: str, value: object, low: int, high: int | None = None) -> None:
    """``ValueError`` naming ``name`` unless ``value`` is an integer in ``[low, high]`` (``None``: no value given)."""
    if value is None:
        return
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= low
    if not ok or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"{low} .. {high}"
        raise ValueError(f"{name} = {value!r} is invalid: must be an integer {allowed}")


def _stlsq(theta: np.ndarray, y: np.ndarray, threshold: float, ridge: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysindy 1.7.5 imports pkg_resources (deprecated) and warns on sparse fits
        from pysindy import STLSQ

        optimizer = STLSQ(threshold=threshold, alpha=ridge, max_iter=50)
        optimizer.fit(theta, y)
    return np.atleast_2d(optimizer.coef_)


def sparse_fit(
    theta: np.ndarray,
    y: np.ndarray,
    *,
    terms: list[str] | tuple[str, ...],
    targets: list[str] | tuple[str, ...],
    groups: np.ndarray | None = None,
    y_error: np.ndarray | None = None,
    threshold: float = 0.01,
    ridge: float = 1e-10,
    bootstrap: int = 50,
    seed: int = 0,
    max_condition: float = 1e6,
    max_spread: float = 0.05,
    min_kept: float = 0.9,
) -> SparseFit:
    """Fit ``y`` ``(n, m)`` on the columns of ``theta`` ``(n, p)``; see :class:`SparseFit` and the module doc.

    Parameters
    ----------
    groups
        ``(n,)`` labels of the bootstrap's blocks (e.g. the trajectory of each row); ``None``: rows.
    y_error
        Standard error of each value of ``y`` (shape of ``y``, or ``(n,)``). Given, the bootstrap is
        parametric instead: every fit uses all rows with ``y`` redrawn from its errors. For a few
        rows measured to a known precision (one per quasinormal mode, say), where dropping rows
        changes what the library can resolve rather than sampling noise.
    threshold
        STLSQ threshold on unit-scaled coefficients, in ``(0, 1)``.
    bootstrap
        Bootstrap fits (0: none; the spread is then unknown and not checked).
    max_condition, max_spread, min_kept
        The identifiability checks: condition number of the kept columns, relative bootstrap
        spread ``std / |mean|`` of each kept coefficient, and the share of bootstrap fits keeping it.
    """
    theta, y = np.asarray(theta, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    n, p = theta.shape
    if len(terms) != p or y.shape != (n, len(targets)):
        raise ValueError(f"theta {theta.shape}, y {y.shape} do not match {len(terms)} terms and {len(targets)} targets")
    if not 0 < threshold < 1:
        raise ValueError(f"threshold = {threshold!r} is invalid: must be in (0, 1) (a share of the target's RMS)")
    check_count("bootstrap", bootstrap, 0, 1000)
    check_count("seed", seed, 0)
    if n < p:
        raise ValueError(f"{n} rows are too few for {p} library terms: give more data")
    if not (np.isfinite(theta).all() and np.isfinite(y).all()):
        raise ValueError("theta and y must be finite (a derivative of noisy or unresolved data overflowed?)")
    col = np.sqrt(np.mean(theta**2, axis=0))
    col = np.where(col > 0, col, 1.0)
    scale = np.sqrt(np.mean(y**2, axis=0))
    scale = np.where(scale > 0, scale, 1.0)

    def fit(rows: np.ndarray | slice, target: np.ndarray = y) -> np.ndarray:
        xi = _stlsq(theta[rows] / col, target[rows] / scale, threshold, ridge)  # (m, p), unit-scaled
        return xi * scale[:, None] / col[None, :]

    coefficients = fit(slice(None))
    residual = np.linalg.norm(y - theta @ coefficients.T, axis=0) / np.linalg.norm(y, axis=0)
    support = np.flatnonzero((coefficients != 0).any(axis=0))
    condition = float(np.linalg.cond(theta[:, support] / col[support])) if len(support) else float("nan")
    labels = np.arange(n) if groups is None else np.asarray(groups)
    blocks = [np.flatnonzero(labels == g) for g in np.unique(labels)]
    rng = np.random.default_rng(seed)
    if y_error is None:
        samples = [fit(np.concatenate([blocks[i] for i in rng.integers(len(blocks), size=len(blocks))]))
                   for _ in range(bootstrap)]  # fmt: skip
    else:
        sigma = np.broadcast_to(np.asarray(y_error, dtype=np.float64).reshape(n, -1), y.shape)
        if not (np.isfinite(sigma).all() and (sigma >= 0).all()):
            raise ValueError("y_error is invalid: need finite standard errors >= 0, one per value of y")
        samples = [fit(slice(None), y + sigma * rng.standard_normal(y.shape)) for _ in range(bootstrap)]
    stack = np.array(samples) if samples else coefficients[None]
    mean, std = stack.mean(axis=0), stack.std(axis=0) if samples else np.full_like(coefficients, np.nan)
    kept = (stack != 0).mean(axis=0)
    reasons = []
    if not len(support):
        reasons.append("no term was kept")
    elif not condition <= max_condition:
        reasons.append(f"the kept terms are nearly collinear (condition number {condition:.3g} > {max_condition:g})")
    if samples:
        on = coefficients != 0
        unstable = on & (kept < min_kept)
        if unstable.any():
            reasons.append(f"{int(unstable.sum())} kept coefficient(s) are dropped in over {1 - min_kept:.0%} of "
                           "bootstrap fits")  # fmt: skip
        spread = np.where(on, std / np.maximum(np.abs(mean), 1e-300), 0.0)
        if (spread > max_spread).any():
            reasons.append(f"bootstrap spread up to {spread.max():.3g} of a coefficient (> {max_spread:g})")
    settings = {"threshold": threshold, "ridge": ridge, "bootstrap": bootstrap, "seed": seed, "rows": n,
                "blocks": len(blocks), "max_condition": max_condition, "max_spread": max_spread,
                "min_kept": min_kept, "bootstrap_kind": "blocks" if y_error is None else "y_error"}  # fmt: skip
    return SparseFit(tuple(terms), tuple(targets), coefficients, mean, std, kept, residual, condition,
                     not reasons, "; ".join(reasons), settings)  # fmt: skip
