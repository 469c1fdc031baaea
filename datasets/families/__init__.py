"""Dataset families: each turns parameters into trajectories of one simulator's fields.

The registry (:data:`FAMILIES`, :func:`get_family`, :func:`register_family`) is imported here;
the families themselves, and their simulators, only when first used.
"""

from typing import TYPE_CHECKING

from physml._lazy import lazy_exports
from physml.datasets.families.registry import FAMILIES, get_family, register_family

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

_BASE = "physml.datasets.families.base"
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        **dict.fromkeys(("Check", "Family", "FieldSpec", "Layout", "ParameterSpec", "Trajectory"), _BASE),
        "BHImagesFamily": "physml.datasets.families.bh_images",
        "CollapseFamily": "physml.datasets.families.collapse",
        "NearHorizonFamily": "physml.datasets.families.near_horizon",
        "SchrodingerFamily": "physml.datasets.families.schrodinger",
        "SpacetimeFamily": "physml.datasets.families.spacetime",
    },
)

if TYPE_CHECKING:
    from physml.datasets.families.base import Check, Family, FieldSpec, Layout, ParameterSpec, Trajectory
    from physml.datasets.families.bh_images import BHImagesFamily
    from physml.datasets.families.collapse import CollapseFamily
    from physml.datasets.families.near_horizon import NearHorizonFamily
    from physml.datasets.families.schrodinger import SchrodingerFamily
    from physml.datasets.families.spacetime import SpacetimeFamily
