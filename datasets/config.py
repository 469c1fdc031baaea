"""Dataset build configurations: family, fixed parameters, sweeps, saved times, splits.

A configuration is a YAML mapping (shipped ones live in ``datasets/configs/``)::

    name: schrodinger-1d
    family: schrodinger
    description: Random Gaussian packets in harmonic, double-well, lattice and barrier potentials.
    license: CC-BY-4.0
    seed: 0
    n_trajectories: 256
    time: {t_final: 5.0, n_saves: 50}
    fixed: {n: 256, length: 40.0, dt: 0.005}      # the same for every trajectory
    sweep:                                        # drawn per trajectory
      sigma: {uniform: [0.6, 1.2]}
    cases:                                        # optional: one case per trajectory, chosen at random by weight
      - {weight: 1, fixed: {potential: harmonic}, sweep: {omega: {log-uniform: [0.5, 2.0]}}}
    splits: {train: 0.8, val: 0.1, test: 0.1, extrapolation: {parameter: omega, above: 1.8}}
    storage: {compression: none, dtype: float64}

Sweep kinds (one key per parameter):

``list: [a, b, ...]``
    trajectory ``i`` takes ``values[i % len]`` (a deterministic cycle).
``grid: [a, b, ...]`` or ``grid: {start, stop, num[, log]}``
    all ``grid`` parameters of a sweep form a Cartesian product, walked in order.
``uniform: [low, high]`` / ``log-uniform: [low, high]``
    seeded random draws.
``choice: [a, b, ...]``
    seeded random choice.

Every random draw of trajectory ``i`` comes from its own generator seeded by
``(seed, i)``, so a trajectory does not depend on how many others there are,
on the order they are built in or on the number of workers.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

__all__ = [
    "SPLITS",
    "SWEEP_KINDS",
    "BuildConfig",
    "Extrapolation",
    "Sweep",
    "check_fraction",
    "list_configs",
    "load_config",
    "parse_split",
]

SWEEP_KINDS = ("list", "grid", "uniform", "log-uniform", "choice")
#: Split labels; ``extrapolation`` holds trajectories outside the training parameter range.
SPLITS = ("train", "val", "test", "extrapolation")
COMPRESSIONS = ("none", "lzf", *(f"gzip-{level}" for level in range(1, 10)))
_CONFIG_PACKAGE = "physml.datasets"


@dataclass(frozen=True)
class Sweep:
    """How one parameter varies across trajectories (see the module docstring)."""

    name: str
    kind: str
    values: tuple[Any, ...] = ()
    low: float = math.nan
    high: float = math.nan

    @classmethod
    def parse(cls, name: str, spec: Any) -> Sweep:
        """Build from a config entry such as ``{"uniform": [0.5, 2.0]}``."""
        if not isinstance(spec, Mapping) or len(spec) != 1:
            raise ValueError(
                f"sweep of {name!r} = {spec!r} is invalid: use a mapping with one key, one of {', '.join(SWEEP_KINDS)}"
            )
        ((kind, arg),) = spec.items()
        if kind not in SWEEP_KINDS:
            raise ValueError(f"sweep kind {kind!r} for {name!r} is invalid: choose one of {', '.join(SWEEP_KINDS)}")
        if kind in ("uniform", "log-uniform"):
            if not (isinstance(arg, Sequence) and len(arg) == 2):
                raise ValueError(f"sweep {name}.{kind} = {arg!r} is invalid: give [low, high]")
            low, high = (_float(f"sweep {name}.{kind}", v) for v in arg)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"sweep {name}.{kind} = {arg!r} is an empty or inverted range: need finite low < high")
            if kind == "log-uniform" and low <= 0:
                raise ValueError(f"sweep {name}.log-uniform = {arg!r} is invalid: need 0 < low < high")
            return cls(name, kind, low=low, high=high)
        if kind == "grid" and isinstance(arg, Mapping):
            unknown = set(arg) - {"start", "stop", "num", "log"}
            if unknown or not {"start", "stop", "num"} <= set(arg):
                raise ValueError(f"sweep {name}.grid = {arg!r} is invalid: give start, stop, num (and optional log)")
            start, stop = (
                _float(f"sweep {name}.grid.start", arg["start"]),
                _float(f"sweep {name}.grid.stop", arg["stop"]),
            )
            num = _integer(f"sweep {name}.grid.num", arg["num"], minimum=1)
            if not start < stop:
                raise ValueError(
                    f"sweep {name}.grid = {arg!r} is an empty or inverted range: need num >= 1, start < stop"
                )
            space = np.geomspace if arg.get("log", False) else np.linspace
            return cls(name, kind, values=tuple(float(v) for v in space(start, stop, num)))
        if isinstance(arg, str | bytes) or not isinstance(arg, Sequence) or len(arg) == 0:
            raise ValueError(f"sweep {name}.{kind} = {arg!r} is invalid: give a non-empty list of values")
        if any(isinstance(v, Mapping | list | tuple) for v in arg):
            raise ValueError(f"sweep {name}.{kind} = {arg!r} is invalid: values must be numbers or names")
        return cls(name, kind, values=tuple(arg))


@dataclass(frozen=True)
class Extrapolation:
    """Trajectories whose ``parameter`` lies outside ``[below, above]`` form the extrapolation split."""

    parameter: str
    above: float = math.inf
    below: float = -math.inf

    def holds_out(self, value: Any) -> bool:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return False
        return v > self.above or v < self.below


@dataclass(frozen=True)
class BuildConfig:
    """A parsed dataset configuration (see the module docstring for the YAML form)."""

    name: str
    family: str
    n_trajectories: int
    t_final: float
    n_saves: int
    fixed: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, Sweep] = field(default_factory=dict)
    cases: tuple[tuple[float, dict[str, Any], dict[str, Sweep]], ...] = ()
    fractions: dict[str, float] = field(default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1})
    extrapolation: Extrapolation | None = None
    seed: int = 0
    description: str = ""
    license: str = "CC-BY-4.0"
    compression: str = "none"
    dtype: str = "float64"
    source: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> BuildConfig:
        """Parse and check a configuration mapping (as loaded from YAML)."""
        known = {
            "name", "family", "description", "license", "seed", "n_trajectories",
            "time", "fixed", "sweep", "cases", "splits", "storage",
        }  # fmt: skip
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"config keys {unknown} are invalid: valid keys are {sorted(known)}")
        for key in ("family", "n_trajectories", "time"):
            if key not in raw:
                raise ValueError(f"config is missing {key!r}")
        n = _integer("n_trajectories", raw["n_trajectories"], minimum=1)
        time = raw["time"]
        if not isinstance(time, Mapping) or set(time) != {"t_final", "n_saves"}:
            raise ValueError(f"time = {time!r} is invalid: give {{t_final: ..., n_saves: ...}}")
        t_final = _float("time.t_final", time["t_final"])
        if not (math.isfinite(t_final) and t_final > 0):
            raise ValueError(f"time.t_final = {t_final!r} is invalid: must be finite and > 0")
        n_saves = _integer("time.n_saves", time["n_saves"], minimum=1)
        fixed = _mapping("fixed", raw.get("fixed"))
        sweep = _sweeps(raw.get("sweep") or {})
        cases = []
        raw_cases = raw.get("cases") or []
        if not isinstance(raw_cases, list):
            raise ValueError(f"cases = {raw_cases!r} is invalid: give a list of {{weight, fixed, sweep}} mappings")
        for i, case in enumerate(raw_cases):
            if not isinstance(case, Mapping) or set(case) - {"weight", "fixed", "sweep"}:
                raise ValueError(f"cases[{i}] = {case!r} is invalid: use keys weight, fixed, sweep")
            weight = _float(f"cases[{i}].weight", case.get("weight", 1.0))
            if not (math.isfinite(weight) and weight > 0):
                raise ValueError(f"cases[{i}].weight = {weight!r} is invalid: must be finite and > 0")
            cases.append((weight, _mapping(f"cases[{i}].fixed", case.get("fixed")), _sweeps(case.get("sweep") or {})))
        fractions, extrapolation = _splits(raw.get("splits") or {"train": 0.8, "val": 0.1, "test": 0.1})
        storage = _mapping("storage", raw.get("storage"))
        if set(storage) - {"compression", "dtype"}:
            raise ValueError(f"storage = {storage!r} is invalid: use keys compression, dtype")
        compression = str(storage.get("compression", "none"))
        if compression not in COMPRESSIONS:
            raise ValueError(
                f"storage.compression = {compression!r} is invalid: choose one of {', '.join(COMPRESSIONS)}"
            )
        dtype = str(storage.get("dtype", "float64"))
        if dtype not in ("float32", "float64"):
            raise ValueError(f"storage.dtype = {dtype!r} is invalid: choose float32 or float64")
        return cls(
            name=str(raw.get("name", raw["family"])),
            family=str(raw["family"]),
            n_trajectories=n,
            t_final=t_final,
            n_saves=n_saves,
            fixed=fixed,
            sweep=sweep,
            cases=tuple(cases),
            fractions=fractions,
            extrapolation=extrapolation,
            seed=_integer("seed", raw.get("seed", 0), minimum=0),
            description=str(raw.get("description", "")),
            license=str(raw.get("license", "CC-BY-4.0")),
            compression=compression,
            dtype=dtype,
            source=copy.deepcopy(dict(raw)),
        )

    def with_trajectories(self, n: int) -> BuildConfig:
        """The same configuration with ``n`` trajectories (``--n-trajectories``)."""
        n = _integer("n_trajectories", n, minimum=1)
        return dataclasses.replace(self, n_trajectories=n, source={**self.source, "n_trajectories": n})

    @property
    def times(self) -> np.ndarray:
        """The ``n_saves + 1`` saved times, from 0 to ``t_final``."""
        return np.linspace(0.0, self.t_final, self.n_saves + 1)

    def to_json(self) -> str:
        """Canonical JSON of the configuration (what a resumed build must match)."""
        return json.dumps(self.source, sort_keys=True, default=str)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of :meth:`to_json`."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def parameter_names(self) -> list[str]:
        """Every parameter named by ``fixed``, ``sweep`` or a case, in first-seen order."""
        names = dict.fromkeys([*self.fixed, *self.sweep])
        for _, fixed, sweep in self.cases:
            names.update(dict.fromkeys([*fixed, *sweep]))
        return list(names)


def _float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} = {value!r} is invalid: must be a number")
    return float(value)


def _mapping(name: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} = {value!r} is invalid: must be a mapping of name: value")
    return dict(value)


def _integer(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} = {value!r} is invalid: must be an integer >= {minimum}")
    return int(value)


def _sweeps(raw: Mapping[str, Any]) -> dict[str, Sweep]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"sweep = {raw!r} is invalid: use a mapping parameter -> {{kind: values}}")
    return {name: Sweep.parse(name, spec) for name, spec in raw.items()}


def _splits(raw: Mapping[str, Any]) -> tuple[dict[str, float], Extrapolation | None]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"splits = {raw!r} is invalid: use a mapping such as {{train: 0.8, val: 0.1, test: 0.1}}")
    unknown = sorted(set(raw) - set(SPLITS))
    if unknown:
        raise ValueError(f"splits {unknown} are invalid: valid splits are {', '.join(SPLITS)}")
    fractions = {name: _float(f"splits.{name}", raw.get(name, 0.0)) for name in ("train", "val", "test")}
    if any(not (0 <= f <= 1) for f in fractions.values()) or not math.isclose(sum(fractions.values()), 1.0):
        raise ValueError(f"split fractions {fractions} are invalid: each in [0, 1], summing to 1")
    extrapolation = None
    if "extrapolation" in raw:
        spec = raw["extrapolation"]
        if not isinstance(spec, Mapping) or "parameter" not in spec or not ({"above", "below"} & set(spec)):
            raise ValueError(
                f"splits.extrapolation = {spec!r} is invalid: give {{parameter: NAME, above: X}} and/or below: Y"
            )
        extrapolation = Extrapolation(
            str(spec["parameter"]),
            _float("splits.extrapolation.above", spec.get("above", math.inf)),
            _float("splits.extrapolation.below", spec.get("below", -math.inf)),
        )
        if not extrapolation.below < extrapolation.above:
            raise ValueError(f"splits.extrapolation = {spec!r} is an inverted range: need below < above")
    return fractions, extrapolation


# -- shipped configurations --------------------------------------------------


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 floats: ``1e-3`` is a number (YAML 1.1 needs ``1.0e-3``)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass: no arbitrary objects


def list_configs() -> dict[str, str]:
    """Shipped configuration names -> one-line descriptions."""
    found = {}
    for entry in sorted(resources.files(_CONFIG_PACKAGE).joinpath("configs").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            raw = load_yaml(entry.read_text())
            found[entry.name.removesuffix(".yaml")] = str(raw.get("description", "")).strip()
    return found


def load_config(name_or_path: str | os.PathLike[str]) -> BuildConfig:
    """A shipped configuration by name (see :func:`list_configs`) or a YAML file by path."""
    text = str(name_or_path)
    path = Path(text)
    if text in list_configs():
        raw = load_yaml(resources.files(_CONFIG_PACKAGE).joinpath("configs", f"{text}.yaml").read_text())
    elif path.suffix in (".yaml", ".yml") and path.is_file():
        try:
            raw = load_yaml(path.read_text())
        except yaml.YAMLError as exc:
            raise ValueError(f"config file {path} is not valid YAML: {exc}") from None
    else:
        raise ValueError(
            f"config {text!r} is neither a shipped configuration ({', '.join(list_configs())}) nor a YAML file"
        )
    if not isinstance(raw, Mapping):
        raise ValueError(f"config {text!r} is invalid: expected a YAML mapping at top level")
    return BuildConfig.from_dict(raw)


def parse_split(split: str, name: str = "split") -> tuple[str, float, float]:
    """``"test"`` -> ``("test", 0, 1)``; ``"extrapolation[:0.5]"`` -> ``("extrapolation", 0, 0.5)``.

    A part of a split, ``[start:stop]`` as shares of its trajectories in a fixed shuffled order
    (:func:`~physml.datasets.samples.split_part`): ``extrapolation[:0.5]`` (say, to fine-tune on) and
    ``extrapolation[0.5:]`` (to test on) are disjoint.

    Raises ``ValueError`` naming ``name`` (the option: ``data.train_split``; ``""`` for none), the split and the
    allowed forms.
    """
    label, _, part = str(split).partition("[")
    allowed = f"one of {', '.join(SPLITS)}, or a part of one: NAME[start:stop], shares 0 <= start < stop <= 1"
    invalid = f"{name + ' = ' if name else ''}{split!r} is invalid: choose {allowed}"
    if label not in SPLITS or (part and not part.endswith("]")) or part.count(":") != (1 if part else 0):
        raise ValueError(invalid)
    start, stop = 0.0, 1.0
    if part:
        try:
            start, stop = (float(v) if v.strip() else default for v, default in zip(part[:-1].split(":"), (0.0, 1.0)))
        except ValueError:
            raise ValueError(invalid) from None
        if not 0.0 <= start < stop <= 1.0:
            raise ValueError(invalid)
    return label, start, stop


def check_fraction(fraction: float, name: str = "fraction") -> None:
    """``ValueError`` naming ``name`` unless ``fraction`` is a number in ``(0, 1]`` (a share of trajectories)."""
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
        raise ValueError(f"{name} = {fraction!r} is invalid: must lie in (0, 1]")
