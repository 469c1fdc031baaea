"""Optional dependencies that cannot be plain ``install_requires`` entries."""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

__all__ = ["ESCNN_INSTALL", "require_escnn"]

#: How to install escnn without its Fortran-only dependency py3nj.
ESCNN_INSTALL = (
    "pip install --no-deps escnn==1.0.11 && pip install lie-learn pymanopt autograd joblib "
    "(or `make venv`, which does this; py3nj is optional and needs a Fortran compiler)"
)


def require_escnn() -> ModuleType:
    """Import escnn, or raise ``ImportError`` saying how to install it.

    escnn declares py3nj as a hard dependency, and py3nj builds only with a
    Fortran compiler, so ``pip install escnn`` fails on most machines. Without
    py3nj escnn computes SO(3) Clebsch-Gordan coefficients numerically; with
    scikit-learn present that path calls ``randomized_svd`` on an
    ``np.matrix``, which scikit-learn rejects, so it is switched off here.
    """
    try:
        with warnings.catch_warnings():
            # Expected without py3nj: escnn announces its numerical fallback.
            warnings.filterwarnings("ignore", message=".*py3nj.*", category=UserWarning)
            escnn = importlib.import_module("escnn")
    except ImportError as exc:
        raise ImportError(f"escnn is required for equivariant models but is not installed: {ESCNN_INSTALL}") from exc
    numerical = importlib.import_module("escnn.group._numerical")
    if getattr(numerical, "randomized_svd", None) is not None:
        numerical.randomized_svd = None
    return escnn
