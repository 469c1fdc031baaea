"""Lazy re-exports: a package names its public objects up front and imports each one's module on first use.

``import physml.datasets`` then costs milliseconds, not the second or so of importing every simulator,
xarray and dask; ``physml.datasets.open_dataset`` imports :mod:`physml.datasets.views` when it is first
touched. Each package keeps its ``__all__`` and lists ``name -> module`` in one table::

    __getattr__, __dir__ = lazy_exports(__name__, {"open_dataset": "physml.datasets.views", ...})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, table: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` for ``package``, whose names in ``table`` live in the given modules.

    Parameters
    ----------
    package
        The package's ``__name__``.
    table
        Public name -> absolute module name holding it.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` to assign at the package's top level (PEP 562). An attribute is
        imported once, then kept in the package's namespace.
    """

    def getattr_(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return getattr_, dir_
