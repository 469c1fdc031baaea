"""Images of a black hole's geometry: metric components and invariants on the meridional plane.

The plane ``y = 0`` at ``t = 0`` in Cartesian Kerr–Schild coordinates (regular across
the horizon; see :mod:`~physml.simulators.spacetime.kerr`), sampled on a grid
``(x, z)``. Pixels inside the outer horizon ``r <= r₊`` (which holds the ring
singularity and the ``r = 0`` disk) are masked: every field is 0 there and
``outside`` is ``False``, so stored images are finite.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from physml.simulators.spacetime.kerr import Kerr, kerr_newman_kretschmann

__all__ = ["FIELDS", "LOG_FLOOR", "MeridionalSlice", "meridional_slice"]

#: Fields of a slice: name -> (unit, description).
FIELDS = {
    "g_tt": ("1", "g_tt (Kerr-Schild = Boyer-Lindquist): -(1 - (2Mr - Q^2)/Sigma); > 0 inside the ergoregion"),
    "g_tx": ("1", "g_tx: Kerr-Schild shift-like component H l_t l_x"),
    "g_ty": ("1", "g_ty: frame dragging in the plane y = 0, H l_t l_y (0 without spin)"),
    "g_xx": ("1", "g_xx = 1 + H l_x^2"),
    "lapse": ("1", "lapse 1/sqrt(-g^tt) of the Kerr-Schild slicing"),
    "kretschmann": ("1/M^4", "Kretschmann scalar R_abcd R^abcd in units of 1/M^4"),
    "log_kretschmann": ("1", "log10 |R_abcd R^abcd| M^4, floored at LOG_FLOOR"),
}
#: Smallest stored ``log_kretschmann`` (where the Kretschmann scalar changes sign it passes through 0).
LOG_FLOOR = -12.0


@dataclass(frozen=True)
class MeridionalSlice:
    """Fields ``(nx, nz)`` on axes ``x`` ``(nx,)`` and ``z`` ``(nz,)``, the mask and the verification figures.

    ``ricci_residual`` is the largest ``|R_ab| M²`` outside the horizon for vacuum (``charge = 0``), or
    ``|R| M²`` for Kerr–Newman (its Maxwell stress tensor is traceless, so ``R = 0``).
    ``kretschmann_error`` is the largest deviation from Henry's closed form over its largest magnitude.
    """

    black_hole: Kerr
    x: np.ndarray
    z: np.ndarray
    outside: np.ndarray
    fields: dict[str, np.ndarray]
    ricci_residual: float
    kretschmann_error: float


def meridional_slice(black_hole: Kerr, x: np.ndarray, z: np.ndarray) -> MeridionalSlice:
    """Evaluate :data:`FIELDS` of ``black_hole`` on the grid ``x`` × ``z`` of the plane ``y = 0``, ``t = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> axis = np.linspace(-9.5, 9.5, 20)
    >>> s = meridional_slice(Kerr(mass=1.0, spin=0.9), axis, axis)
    >>> s.fields["g_tt"].shape, bool(s.ricci_residual < 1e-10)
    ((20, 20), True)
    """
    bh = replace(black_hole, chart="kerr-schild")
    x, z = np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64)
    xx, zz = np.meshgrid(x, z, indexing="ij")  # (nx, nz)
    points = np.stack([np.zeros_like(xx), xx, np.zeros_like(xx), zz], axis=-1)
    r, cos_theta = bh.radius_and_cos_theta(points)
    outside = r > bh.horizon
    names = ("metric", "inverse_metric", "kretschmann", "ricci" if bh.charge == 0 else "ricci_scalar")
    out = bh.evaluate(points[outside], *names)
    m = bh.mass
    g, ginv, k = out["metric"], out["inverse_metric"], out["kretschmann"]
    values = {
        "g_tt": g[:, 0, 0],
        "g_tx": g[:, 0, 1],
        "g_ty": g[:, 0, 2],
        "g_xx": g[:, 1, 1],
        "lapse": 1 / np.sqrt(-ginv[:, 0, 0]),
        "kretschmann": k * m**4,
        "log_kretschmann": np.log10(np.maximum(np.abs(k) * m**4, 10**LOG_FLOOR)),
    }
    fields = {}
    for name, value in values.items():
        image = np.zeros(xx.shape)
        image[outside] = value
        fields[name] = image
    residual = np.abs(out["ricci"] if bh.charge == 0 else out["ricci_scalar"]) * m**2
    closed = kerr_newman_kretschmann(r[outside], cos_theta[outside], m, bh.a, bh.q)
    error = np.abs(k - closed).max(initial=0.0) / max(np.abs(closed).max(initial=0.0), np.finfo(float).tiny)
    return MeridionalSlice(bh, x, z, outside, fields, float(residual.max(initial=0.0)), float(error))
