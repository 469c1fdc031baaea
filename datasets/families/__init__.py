"""Dataset families: each turns parameters into trajectories of one simulator's fields."""

from physml.datasets.families.base import (
    FAMILIES,
    Check,
    Family,
    FieldSpec,
    Layout,
    ParameterSpec,
    Trajectory,
    get_family,
    register_family,
)
from physml.datasets.families.schrodinger import SchrodingerFamily

register_family(SchrodingerFamily())

__all__ = [
    "FAMILIES",
    "Check",
    "Family",
    "FieldSpec",
    "Layout",
    "ParameterSpec",
    "SchrodingerFamily",
    "Trajectory",
    "get_family",
    "register_family",
]
