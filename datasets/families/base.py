"""What a dataset family provides: parameters, a file layout, one simulated trajectory, its checks.

A family turns a parameter dictionary into one trajectory of fields. The store
(:mod:`physml.datasets.store`) and the builder (:mod:`physml.datasets.build`)
know nothing of physics: they ask the family for its :class:`Layout` (what is
stored, on which grid) and call :meth:`Family.simulate` once per trajectory,
possibly in another process. A family subclasses :class:`Family` and is
registered by name (:mod:`physml.datasets.families.registry`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "Check",
    "Family",
    "FieldSpec",
    "Layout",
    "ParameterSpec",
    "Trajectory",
    "integer_parameter",
]


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter of a family.

    ``shared`` parameters (grid size, box, time step) must be the same for every
    trajectory of a file; the others may vary per trajectory. ``categories``
    makes a parameter categorical (stored as an integer code). ``default=None``
    means "does not apply unless given". ``integer`` marks a per-trajectory whole
    number: files store every per-trajectory number as float64, and reading
    parameters back (:func:`~physml.datasets.descriptions.read_parameters`) restores the int.
    ``sequence`` lets a shared parameter be a list of numbers (one per axis, or several points).
    """

    name: str
    unit: str
    help: str
    default: Any = None
    categories: tuple[str, ...] | None = None
    shared: bool = False
    integer: bool = False
    sequence: bool = False


@dataclass(frozen=True)
class FieldSpec:
    """A stored field: complex ones are written as ``<name>_real`` / ``<name>_imag``."""

    name: str
    unit: str = ""
    description: str = ""
    complex: bool = False
    time_varying: bool = True


@dataclass(frozen=True)
class Check:
    """A per-trajectory verification figure and the largest value a valid trajectory may have."""

    name: str
    threshold: float
    description: str

    def failed(self, verification: Mapping[str, float]) -> bool:
        """Whether a trajectory's ``verification`` figures fail this check (a missing or NaN figure fails)."""
        return not verification.get(self.name, math.nan) <= self.threshold


@dataclass(frozen=True)
class Layout:
    """What a file of this family stores: spatial axes (coordinates in order), fields and scalar series."""

    axes: dict[str, np.ndarray]
    fields: tuple[FieldSpec, ...]
    scalars: tuple[str, ...]
    bc_type: str = "periodic"

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.axes.values())


@dataclass
class Trajectory:
    """One simulated trajectory: fields ``(n_t, *space)`` (or ``(*space)`` when static), scalar series ``(n_t,)``."""

    fields: dict[str, np.ndarray]
    scalars: dict[str, np.ndarray]
    verification: dict[str, float] = field(default_factory=dict)


class Family(ABC):
    """A simulator seen as a source of trajectories."""

    name: ClassVar[str]
    description: ClassVar[str]
    #: Name of the root ``dataset_name`` attribute of its files.
    dataset_name: ClassVar[str]
    parameters: ClassVar[dict[str, ParameterSpec]]
    checks: ClassVar[dict[str, Check]]

    def resolve(self, params: Mapping[str, Any], times: np.ndarray | None = None) -> dict[str, Any]:
        """Check names, types and values, and fill defaults: every parameter, ``None`` where it does not apply.

        With ``times`` (the saved times), checks that depend on them run too (e.g. the time step).
        """
        unknown = sorted(set(params) - set(self.parameters))
        if unknown:
            raise ValueError(
                f"parameters {unknown} are invalid for family {self.name!r}: valid ones are {sorted(self.parameters)}"
            )
        resolved = {name: spec.default for name, spec in self.parameters.items()}
        resolved.update({k: v for k, v in params.items() if v is not None})
        for name, spec in self.parameters.items():
            value = resolved[name]
            if value is None:
                continue
            if spec.categories is not None:
                if value not in spec.categories:
                    raise ValueError(f"{name} = {value!r} is invalid: choose one of {', '.join(spec.categories)}")
            elif not _is_number(value) and not (
                spec.sequence and isinstance(value, list | tuple) and value and all(map(_is_number, value))
            ):
                rule = "a number or a list of numbers" if spec.sequence else "a number"
                raise ValueError(f"{name} = {value!r} is invalid: must be {rule}")
        return self.check(resolved, times)

    def check(self, params: dict[str, Any], times: np.ndarray | None = None) -> dict[str, Any]:
        """Family-specific checks of resolved parameters (raise ``ValueError``); returns them, possibly amended."""
        return params

    @abstractmethod
    def layout(self, params: Mapping[str, Any], times: np.ndarray) -> Layout:
        """The file layout given the shared parameters."""

    @abstractmethod
    def simulate(self, params: Mapping[str, Any], times: np.ndarray, *, progress: bool = False) -> Trajectory:
        """Simulate one trajectory with resolved ``params``, saving at ``times``.

        Must be deterministic: the same parameters give bit-identical fields in
        any process. ``progress`` asks for the simulator's own progress display
        (:func:`physml.progress.progress`; ``physml simulate`` sets it, builds do not).
        """

    # -- modalities: text and images of a trajectory's set-up -------------------
    def caption(self, params: Mapping[str, Any], *, rng: np.random.Generator) -> str:
        """A description in words of the trajectory with resolved ``params``.

        The phrasing is drawn with ``rng`` (seed it from ``(seed, trajectory)`` for a
        fixed description); numbers carry the units of :attr:`parameters`. This
        default lists the per-trajectory parameters; families override it with
        physics words (e.g. "a near-extremal Kerr hole").
        """
        from physml.datasets.captions import generic_caption

        return generic_caption(self, params, rng)

    def image_channels(self, params: Mapping[str, Any]) -> tuple[str, ...]:
        """Names of the channels :meth:`render` draws for a file with these (shared) ``params``."""
        raise NotImplementedError(f"family {self.name!r} draws no images: override Family.image_channels and render")

    def render(self, params: Mapping[str, Any], *, size: tuple[int, int]) -> np.ndarray:
        """A picture of the trajectory's set-up: float32 ``(C, H, W)`` in [0, 1], ``size = (H, W)``.

        Rows run up the vertical coordinate (``origin="lower"``); each family
        documents its channels, axes and fixed value ranges.
        """
        raise NotImplementedError(f"family {self.name!r} draws no images: override Family.image_channels and render")

    def describe(self) -> str:
        """Multi-line help: the parameters with units and defaults, and the checks."""
        lines = [f"{self.name}: {self.description}", "parameters:"]
        for spec in self.parameters.values():
            extra = f" one of {', '.join(spec.categories)}" if spec.categories else ""
            where = " (shared by all trajectories)" if spec.shared else ""
            lines.append(f"  {spec.name} [{spec.unit}] = {spec.default!r}{where}: {spec.help}{extra}")
        lines.append("verification (per trajectory, must not exceed):")
        lines += [f"  {c.name} <= {c.threshold:g}: {c.description}" for c in self.checks.values()]
        return "\n".join(lines)

    @staticmethod
    def is_missing(value: Any) -> bool:
        return value is None or (isinstance(value, float) and math.isnan(value))


def integer_parameter(name: str, value: Any, minimum: int | None = None) -> int:
    """``int(value)``, or ``ValueError`` naming the parameter unless it is a whole number (>= ``minimum``)."""
    if int(value) != value or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} = {value!r} is invalid: must be an integer{bound}")
    return int(value)


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
