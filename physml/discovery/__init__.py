"""Symbolic-fit discovery: recover the equations and laws behind physml's data (and its surrogates' rollouts).

- :func:`discover_schrodinger`: PDE-FIND on wave functions, strong or weak form, with bootstrap
  uncertainties, scored against ``i hbar psi_t = -(hbar^2/2m) Δpsi + V psi``.
- :func:`audit_surrogate`: the same fit on a trained surrogate's rollouts, next to the simulator's.
- :func:`discover_critical_laws`: Choptuik's γ, the wiggle of the masses and the echo law, with errors.
- :func:`discover_qnm_laws`, :func:`discover_tail_law`: quasinormal frequencies against ``l`` (eikonal
  limit and corrections) and Price's tail exponents, from evolutions.
- :func:`sparse_fit`: the sparse regression underneath (pysindy's STLSQ, block bootstrap,
  identifiability checks).

Names are imported on first use (pysindy and sympy load only when a fit runs).
"""

from typing import TYPE_CHECKING

from physml._lazy import lazy_exports

__all__ = [
    "Audit",
    "CriticalLaws",
    "Discovery",
    "QNMLaws",
    "SparseFit",
    "WaveFunctions",
    "audit_surrogate",
    "discover_critical_laws",
    "discover_qnm_laws",
    "discover_schrodinger",
    "discover_tail_law",
    "read_wave_functions",
    "sparse_fit",
]

_MODULES = {
    "physml.discovery.audit": ("Audit", "audit_surrogate"),
    "physml.discovery.critical": ("CriticalLaws", "discover_critical_laws"),
    "physml.discovery.ringdown": ("QNMLaws", "discover_qnm_laws", "discover_tail_law"),
    "physml.discovery.schrodinger": ("Discovery", "WaveFunctions", "discover_schrodinger", "read_wave_functions"),
    "physml.discovery.sparse": ("SparseFit", "sparse_fit"),
}
__getattr__, __dir__ = lazy_exports(__name__, {name: module for module, names in _MODULES.items() for name in names})

if TYPE_CHECKING:
    from physml.discovery.audit import Audit, audit_surrogate
    from physml.discovery.critical import CriticalLaws, discover_critical_laws
    from physml.discovery.ringdown import QNMLaws, discover_qnm_laws, discover_tail_law
    from physml.discovery.schrodinger import Discovery, WaveFunctions, discover_schrodinger, read_wave_functions
    from physml.discovery.sparse import SparseFit, sparse_fit
