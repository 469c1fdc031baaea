"""The family registry: names to families, each built-in one imported the first time it is asked for.

Listing names (``sorted(FAMILIES)``, argparse choices, ``physml dataset list``) imports no
simulator; ``get_family("collapse")`` imports :mod:`physml.datasets.families.collapse` (and with it
the collapse simulator) once. A family defined elsewhere registers an instance or, to stay lazy
too, a ``"module:Class"`` path::

    register_family(MyFamily())
    register_family("mypackage.families:MyFamily", name="my_family")

Worker processes of a parallel build receive the family object itself (pickled by reference to its
class), so what is registered in the parent needs no registration there.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from physml.datasets.families.base import Family

__all__ = ["BUILTIN", "FAMILIES", "FamilyRegistry", "get_family", "register_family"]

#: The families shipped with physml: name -> ``"module:Class"``.
BUILTIN: dict[str, str] = {
    "schrodinger": "physml.datasets.families.schrodinger:SchrodingerFamily",
    "bh_images": "physml.datasets.families.bh_images:BHImagesFamily",
    "near_horizon": "physml.datasets.families.near_horizon:NearHorizonFamily",
    "spacetime": "physml.datasets.families.spacetime:SpacetimeFamily",
    "collapse": "physml.datasets.families.collapse:CollapseFamily",
}


class FamilyRegistry(MutableMapping[str, "Family"]):
    """Family name -> :class:`~physml.datasets.families.base.Family`, loading ``"module:Class"`` entries on access.

    Membership, iteration and ``len`` use the names alone; looking a name up imports its module,
    instantiates the class and keeps the instance.
    """

    def __init__(self, entries: dict[str, Family | str]) -> None:
        self._entries: dict[str, Family | str] = dict(entries)

    def __getitem__(self, name: str) -> Family:
        entry = self._entries[name]
        if isinstance(entry, str):
            entry = self._entries[name] = _load(name, entry)
        return entry

    def __setitem__(self, name: str, family: Family | str) -> None:
        self._entries[name] = family

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __repr__(self) -> str:
        return f"FamilyRegistry({sorted(self._entries)})"


def _load(name: str, path: str) -> Family:
    module, sep, attribute = path.partition(":")
    if not sep or not module or not attribute:
        raise ValueError(f"family {name!r} = {path!r} is invalid: give a 'module:Class' path")
    family = getattr(importlib.import_module(module), attribute)()
    if family.name != name:
        raise ValueError(f"family {name!r} = {path!r} is invalid: the class is named {family.name!r}")
    return family


#: Registered families by name (the built-in ones load on first use).
FAMILIES = FamilyRegistry(dict(BUILTIN))


def register_family(family: Family | str, *, name: str | None = None) -> Family | str:
    """Make a family available to configs and the CLI by its name.

    Parameters
    ----------
    family
        A :class:`~physml.datasets.families.base.Family` (registered as ``family.name``), or the
        ``"module:Class"`` path of one, imported on first use (then ``name`` is required).
    name
        The name of a family given by path.

    Returns
    -------
    Family or str
        ``family``, so that the call can decorate an assignment.
    """
    if isinstance(family, str):
        if not name:
            raise ValueError(f"name = {name!r} is invalid: a family given by path ({family!r}) needs its name")
        if ":" not in family:
            raise ValueError(f"family = {family!r} is invalid: give a 'module:Class' path")
        FAMILIES[name] = family
        return family
    if name is not None and name != family.name:
        raise ValueError(f"name = {name!r} is invalid: the family is named {family.name!r}")
    FAMILIES[family.name] = family
    return family


def get_family(name: str) -> Family:
    """The registered family called ``name`` (imported now if it is not yet); the error lists the valid names."""
    if name not in FAMILIES:
        raise ValueError(f"family = {name!r} is invalid: choose one of {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]
