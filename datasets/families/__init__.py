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
from physml.datasets.families.bh_images import BHImagesFamily
from physml.datasets.families.collapse import CollapseFamily
from physml.datasets.families.near_horizon import NearHorizonFamily
from physml.datasets.families.schrodinger import SchrodingerFamily
from physml.datasets.families.spacetime import SpacetimeFamily

register_family(SchrodingerFamily())
register_family(BHImagesFamily())
register_family(NearHorizonFamily())
register_family(SpacetimeFamily())
register_family(CollapseFamily())

__all__ = [
    "FAMILIES",
    "BHImagesFamily",
    "Check",
    "CollapseFamily",
    "Family",
    "FieldSpec",
    "Layout",
    "NearHorizonFamily",
    "ParameterSpec",
    "SchrodingerFamily",
    "SpacetimeFamily",
    "Trajectory",
    "get_family",
    "register_family",
]
