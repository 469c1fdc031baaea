"""Symbolic curvature of a line element, derived once with sympy and evaluated by generated numpy code.

Derivation (no ``simplify``: Kerr's Riemann tensor takes minutes to simplify and
evaluation does not need it). With ``∂`` the total derivative (chain rule through
auxiliary fields such as the Kerr–Schild ``r(x, y, z)`` or the FLRW ``a(t)``):

    Γ_abc  = ½ (∂_b g_ac + ∂_c g_ab − ∂_a g_bc),          Γ^a_bc = g^ad Γ_dbc
    R_abcd = ½ (∂_b∂_c g_ad + ∂_a∂_d g_bc − ∂_a∂_c g_bd − ∂_b∂_d g_ac)
             + Γ_ebc Γ^e_ad − Γ_ebd Γ^e_ac                 (MTW eq. 8.44 lowered; sign: R^a_bcd = ∂_c Γ^a_db − ...)

Stage 1 holds ``g_ab``, ``g^ab``, ``Γ^a_bc`` and the 21 components ``R_abcd``
(``a < b``, ``c < d``, ``(a, b) <= (c, d)``) as expressions of the coordinates,
parameters and auxiliary fields. Stage 2 writes every contraction — ``R^a_bcd``,
``R_ab``, ``R``, ``G_ab``, ``R_abcd R^abcd`` — in terms of *symbols* standing for
the stage-1 components (``Curvature.definitions`` maps them back). Expanding the
Kerr–Schild Kretschmann scalar in coordinates gives 3.4 million operations and
17 s of ``lambdify``; staged, each piece compiles in well under a second.

Each quantity compiles on first use to one numpy function with ``sympy.lambdify(...,
cse=True)`` (common subexpressions computed once per call). Numba is not used: the
functions are straight-line vectorised numpy over whole grids (128² points per
call in a dataset build), so a Numba loop would gain little and cost a compile
per metric and quantity.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # sympy is imported where it is used: importing a metric (e.g. for ray tracing) derives nothing
    import sympy as sp

__all__ = ["QUANTITIES", "Compiled", "Curvature", "LineElement", "compile_quantity", "derive"]

#: Quantities that :func:`compile_quantity` evaluates, with their index shapes.
QUANTITIES: dict[str, tuple[int, ...]] = {
    "metric": (4, 4),
    "inverse_metric": (4, 4),
    "christoffel": (4, 4, 4),
    "riemann_lower": (4, 4, 4, 4),
    "riemann": (4, 4, 4, 4),
    "ricci": (4, 4),
    "ricci_scalar": (),
    "einstein": (4, 4),
    "kretschmann": (),
}
#: Quantities evaluated from the stage-1 arrays (metric, inverse metric, lower Riemann) rather than coordinates.
STAGE2 = ("riemann", "ricci", "ricci_scalar", "einstein", "kretschmann")


@dataclass(frozen=True)
class LineElement:
    """A metric ``g_ab`` in four named coordinates, as sympy expressions.

    Parameters
    ----------
    coordinates
        The four coordinate symbols, time first.
    parameters
        Symbols of the metric's constants (mass, spin, ...), in the order of
        :meth:`Metric.parameter_values <physml.simulators.spacetime.Metric.parameter_values>`.
    metric
        4×4 symmetric ``sympy.Matrix``.
    inverse
        ``g^ab`` when known in closed form (Kerr–Schild forms); else inverted by LU and ``cancel``.
    auxiliary
        Fields evaluated numerically and passed in (Kerr–Schild ``r``, FLRW ``a, ȧ, ä``), each with its
        four partial derivatives in terms of coordinates, parameters and auxiliaries, or ``None`` where
        no derivative is ever needed (``ä``: only ``g`` and its first two derivatives enter).
    """

    coordinates: tuple[sp.Symbol, ...]
    parameters: tuple[sp.Symbol, ...]
    metric: sp.Matrix
    inverse: sp.Matrix | None = None
    auxiliary: tuple[tuple[sp.Symbol, tuple[sp.Expr, ...] | None], ...] = ()

    def __post_init__(self) -> None:
        if len(self.coordinates) != 4 or self.metric.shape != (4, 4):
            raise ValueError(f"coordinates = {self.coordinates!r} is invalid: need 4 coordinates and a 4x4 metric")
        if self.metric != self.metric.T:
            raise ValueError("metric is invalid: g_ab must be symmetric")

    def derivative(self, expr: sp.Expr, mu: int) -> sp.Expr:
        """Total ``∂ expr / ∂x^mu``, chaining through the auxiliary fields."""
        import sympy as sp

        out = sp.diff(expr, self.coordinates[mu])
        for symbol, grads in self.auxiliary:
            partial = sp.diff(expr, symbol)
            if partial == 0:
                continue
            if grads is None:
                raise ValueError(f"auxiliary {symbol} has no derivative rule but a curvature term needs one")
            out += partial * grads[mu]
        return out


@dataclass(frozen=True)
class Curvature:
    """The derived geometry of one line element (see the module docstring for the two stages).

    Stage-1 arrays (``metric``, ``inverse_metric``, ``christoffel`` ``Γ^a_bc``, ``riemann_lower``
    ``R_abcd``) are expressions in ``inputs``. Stage-2 ones (``riemann`` ``R^a_bcd``, ``ricci``,
    ``ricci_scalar``, ``einstein``, ``kretschmann``) are expressions in the stage symbols
    ``g_ab``, ``ginv_ab``, ``R_abcd``; :meth:`expand` substitutes the definitions.
    """

    line_element: LineElement
    metric: sp.Array
    inverse_metric: sp.Array
    christoffel: sp.Array
    riemann_lower: sp.Array
    riemann: sp.Array
    ricci: sp.Array
    ricci_scalar: sp.Expr
    einstein: sp.Array
    kretschmann: sp.Expr
    #: Stage symbol -> its stage-1 expression.
    definitions: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)
    #: Stage symbol -> (stage-1 quantity, component index) whose value it stands for.
    sources: dict[sp.Symbol, tuple[str, tuple[int, ...]]] = field(default_factory=dict)

    @property
    def inputs(self) -> tuple[sp.Symbol, ...]:
        """Coordinates, parameters, then auxiliary fields: the arguments of stage-1 expressions."""
        le = self.line_element
        return (*le.coordinates, *le.parameters, *(s for s, _ in le.auxiliary))

    def expand(self, expr: Any) -> Any:
        """``expr`` with stage symbols replaced by their expressions in :attr:`inputs` (can be large)."""
        return expr.xreplace(self.definitions)


def _stage_symbols(
    name: str, quantity: str, values: dict[tuple[int, ...], sp.Expr], definitions: dict, sources: dict
) -> dict[tuple[int, ...], sp.Expr]:
    """A symbol per structurally non-zero component (0 stays 0), recorded in ``definitions`` and ``sources``."""
    import sympy as sp

    out = {}
    for index, value in values.items():
        if value == 0:
            out[index] = sp.S.Zero
        else:
            symbol = sp.Symbol(f"{name}_{''.join(map(str, index))}", real=True)
            definitions[symbol] = value
            sources[symbol] = (quantity, index)
            out[index] = symbol
    return out


def derive(le: LineElement) -> Curvature:
    """Derive every curvature quantity of ``le`` (a second or less for Kerr; see the module docstring)."""
    import sympy as sp

    n = range(4)
    g = le.metric
    ginv = le.inverse if le.inverse is not None else g.inv(method="LU").applyfunc(sp.cancel)
    dg = [[[le.derivative(g[a, b], c) for c in n] for b in n] for a in n]  # dg[a][b][c] = ∂_c g_ab
    ddg = [[[[le.derivative(dg[a][b][c], d) for d in n] for c in n] for b in n] for a in n]
    low = [[[(dg[a][b][c] + dg[a][c][b] - dg[b][c][a]) / 2 for c in n] for b in n] for a in n]  # Γ_abc
    up = [[[sum(ginv[a, d] * low[d][b][c] for d in n) for c in n] for b in n] for a in n]  # Γ^a_bc
    pairs = [(a, b) for a in n for b in n if a < b]
    r_low = {}
    for (a, b), (c, d) in itertools.combinations_with_replacement(pairs, 2):
        second = (ddg[a][d][b][c] + ddg[b][c][a][d] - ddg[a][c][b][d] - ddg[b][d][a][c]) / 2
        r_low[a, b, c, d] = second + sum(low[e][b][c] * up[e][a][d] - low[e][b][d] * up[e][a][c] for e in n)

    definitions: dict[sp.Symbol, sp.Expr] = {}
    sources: dict[sp.Symbol, tuple[str, tuple[int, ...]]] = {}
    upper = {(a, b) for a in n for b in n if a <= b}
    gs = _stage_symbols("g", "metric", {i: g[i] for i in upper}, definitions, sources)
    gis = _stage_symbols("ginv", "inverse_metric", {i: ginv[i] for i in upper}, definitions, sources)
    rs = _stage_symbols("R", "riemann_lower", r_low, definitions, sources)

    def g_(a: int, b: int) -> sp.Expr:
        return gs[min(a, b), max(a, b)]

    def gi(a: int, b: int) -> sp.Expr:
        return gis[min(a, b), max(a, b)]

    def riem(a: int, b: int, c: int, d: int) -> sp.Expr:
        """``R_abcd`` from the stored components by its pair antisymmetries and pair exchange."""
        if a == b or c == d:
            return sp.S.Zero
        sign = 1
        if a > b:
            a, b, sign = b, a, -sign
        if c > d:
            c, d, sign = d, c, -sign
        if (a, b) > (c, d):
            a, b, c, d = c, d, a, b
        return sign * rs[a, b, c, d]

    riemann_full = [[[[riem(a, b, c, d) for d in n] for c in n] for b in n] for a in n]
    mixed = [[[[sum(gi(a, e) * riemann_full[e][b][c][d] for e in n) for d in n] for c in n] for b in n] for a in n]
    ricci = [[sum(gi(a, c) * riemann_full[a][b][c][d] for a in n for c in n) for d in n] for b in n]
    scalar = sum(gi(b, d) * ricci[b][d] for b in n for d in n)
    einstein = [[ricci[a][b] - g_(a, b) * scalar / 2 for b in n] for a in n]
    # K = R_abcd R^abcd = 4 Σ_{a<b, c<d} R_abcd R^abcd, with R^{ab}_{cd} = g^ae g^bf R_efcd.
    raised = {
        (a, b, c, d): sum(gi(a, e) * gi(b, f) * riem(e, f, c, d) for e in n for f in n)
        for (a, b) in pairs
        for (c, d) in pairs
    }
    kretschmann = 4 * sum(raised[a, b, c, d] * raised[c, d, a, b] for (a, b) in pairs for (c, d) in pairs)
    return Curvature(
        line_element=le,
        metric=sp.Array(g.tolist()),
        inverse_metric=sp.Array(ginv.tolist()),
        christoffel=sp.Array(up),
        riemann_lower=sp.Array(riemann_full).applyfunc(lambda e: e.xreplace(definitions)),
        riemann=sp.Array(mixed),
        ricci=sp.Array(ricci),
        ricci_scalar=scalar,
        einstein=sp.Array(einstein),
        kretschmann=kretschmann,
        definitions=definitions,
        sources=sources,
    )


@dataclass(frozen=True)
class Compiled:
    """One quantity as generated numpy code: ``function(*args)`` returns the non-zero components at ``indices``."""

    name: str
    shape: tuple[int, ...]
    indices: tuple[tuple[int, ...], ...]
    arguments: tuple[sp.Symbol, ...]
    function: Callable[..., Sequence[Any]]

    def __call__(self, values: dict[sp.Symbol, np.ndarray], batch: tuple[int, ...]) -> np.ndarray:
        """Evaluate with ``values`` (a broadcastable array per argument symbol): shape ``(*batch, *shape)``."""
        out = np.zeros((*batch, *self.shape))
        if self.indices:
            components = self.function(*(values[s] for s in self.arguments))
            for index, value in zip(self.indices, components):
                out[(..., *index)] = value
        return out


def compile_quantity(curvature: Curvature, name: str) -> Compiled:
    """Generate numpy code for quantity ``name`` (one of :data:`QUANTITIES`) with ``lambdify(cse=True)``."""
    if name not in QUANTITIES:
        raise ValueError(f"name = {name!r} is invalid: choose one of {', '.join(QUANTITIES)}")
    shape = QUANTITIES[name]
    value = getattr(curvature, name)
    items = [((), value)] if shape == () else [(i, value[i]) for i in itertools.product(*map(range, shape))]
    if name == "riemann_lower":
        # Only the 21 stored components: the others follow by symmetry and are filled in by the caller.
        items = [(i, v) for i, v in items if i[0] < i[1] and i[2] < i[3] and (i[0], i[1]) <= (i[2], i[3])]
    items = [(i, v) for i, v in items if v != 0]
    if name in STAGE2:
        arguments = tuple(sorted(set().union(*(v.free_symbols for _, v in items)), key=str)) if items else ()
    else:
        arguments = curvature.inputs
    import sympy as sp

    function = sp.lambdify(arguments, [v for _, v in items], modules="numpy", cse=True) if items else None
    return Compiled(name, shape, tuple(i for i, _ in items), arguments, function)


def fill_riemann(stored: np.ndarray) -> np.ndarray:
    """Complete ``R_abcd`` ``(..., 4, 4, 4, 4)`` from its stored components by the Riemann symmetries."""
    out = stored.copy()
    pairs = [(a, b) for a in range(4) for b in range(4) if a < b]
    for (a, b), (c, d) in itertools.combinations_with_replacement(pairs, 2):
        v = stored[..., a, b, c, d]
        for (p, q), (s, t) in (((a, b), (c, d)), ((c, d), (a, b))):
            out[..., p, q, s, t] = v
            out[..., q, p, s, t] = -v
            out[..., p, q, t, s] = -v
            out[..., q, p, t, s] = v
    return out
