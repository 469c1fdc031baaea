"""Dormand-Prince 5(4) (DP5(4), RK5(4)7M): the tableau.

Dormand & Prince (1980), J. Comput. Appl. Math. 6, 19; the same numbers as
scipy's ``solve_ivp(method="RK45")``: 6 stages and the first-same-as-last
evaluation, a 5th-order solution and the difference to the embedded 4th-order
one as the error estimate (order 4: step factor ``0.9 norm^(-1/5)``).
Compiled into kernels by :func:`physml.kernels.dormand_prince.dormand_prince`.
"""

from __future__ import annotations

import numpy as np

from physml.kernels.dormand_prince import Tableau

__all__ = ["DP54"]

_A = np.zeros((6, 6))
_A[1, :1] = (1 / 5,)
_A[2, :2] = (3 / 40, 9 / 40)
_A[3, :3] = (44 / 45, -56 / 15, 32 / 9)
_A[4, :4] = (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729)
_A[5, :5] = (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656)

#: The DP5(4) pair; ``e`` is the 5th- minus the 4th-order solution's weights (the last on ``f(t + h, y_new)``).
DP54 = Tableau(
    name="DP5(4)",
    c=np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0]),
    a=_A,
    b=np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]),
    e=np.array([-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40]),
    e_low=np.zeros(7),
    error_order=4,
)
