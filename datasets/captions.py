"""Words for parameters: numbers with units, phrasings drawn from a generator, a generic description.

Families describe a trajectory in words (:meth:`~physml.datasets.families.Family.caption`)
with these helpers, so every description writes numbers the same way: three
significant digits, no exponent between 1e-3 and 1e6, the unit of the
family's :class:`~physml.datasets.families.ParameterSpec` spelled out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from physml.datasets.families.base import Family

__all__ = ["DIGITS", "UNIT_WORDS", "article", "generic_caption", "number", "pick", "quantity", "sentence"]

#: Significant digits of every number in a description.
DIGITS = 3
#: How a :class:`ParameterSpec` unit reads in a sentence ("1": dimensionless, nothing written).
UNIT_WORDS = {
    "1": "",
    "deg": "degrees",
    "rad": "rad",
    "length": "length units",
    "energy": "energy units",
    "time": "time units",
    "1/time": "per time unit",
    "momentum": "momentum units",
    "mass": "mass units",
    "energy*time": "action units",
    "energy*length": "energy x length units",
    "energy/length": "energy per length unit",
    "r_isco": "r_ISCO",
}


def number(value: float, digits: int = DIGITS) -> str:
    """``value`` to ``digits`` significant digits: ``1.45``, ``-6``, ``0.0123``, ``1000``, ``2.5e-05``.

    Examples
    --------
    >>> [number(v) for v in (1.4523, -6.0, 0.012345, 999.7, 2.5e-5, 0.0)]
    ['1.45', '-6', '0.0123', '1000', '2.5e-05', '0']
    """
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return "0" if value == 0 else str(value)
    if not 1e-3 <= abs(value) < 1e6:
        return f"{value:.{digits}g}"
    text = np.format_float_positional(value, precision=digits, unique=False, fractional=False, trim="-")
    return text


def quantity(value: float, unit: str) -> str:
    """A number with its unit in words: ``quantity(60.0, "deg") == "60 degrees"``, ``quantity(3, "1") == "3"``."""
    word = UNIT_WORDS.get(unit, unit)
    return f"{number(value)} {word}" if word else number(value)


def pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    """One of ``options``, drawn with ``rng``."""
    return options[int(rng.integers(len(options)))]


def article(phrase: str) -> str:
    """``phrase`` with "a" or "an" before it (by its first letter: "an ingoing pulse", "a narrow pulse")."""
    return f"{'an' if phrase[:1].lower() in 'aeiou' else 'a'} {phrase}"


def sentence(text: str) -> str:
    """``text`` with a capital first letter and a final full stop."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def generic_caption(family: Family, params: Mapping[str, Any], rng: np.random.Generator) -> str:
    """A description of any family's trajectory from its :class:`ParameterSpec` list (per-trajectory ones)."""
    clauses = []
    for name, spec in family.parameters.items():
        value = params.get(name)
        if spec.shared or family.is_missing(value):
            continue
        shown = str(value) if spec.categories is not None or isinstance(value, str) else quantity(value, spec.unit)
        clauses.append(f"{name} = {shown}")
    listed = ", ".join(clauses) or "default parameters"
    templates = (
        "A {name} trajectory with {listed}",
        "{description}, with {listed}",
        "Simulation of the {name} family: {listed}",
        "{listed} ({description})",
    )
    return sentence(pick(rng, templates).format(name=family.name, description=family.description, listed=listed))
