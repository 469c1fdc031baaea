"""Plain values (YAML, a checkpoint) checked against a model config dataclass's annotations before it is built.

A config's own ``__post_init__`` states its rules between fields; this checks
each value's type and size first, for every model alike, so a string for a
width, a NaN for a dropout or 2^63 layers is refused with the key's name
instead of failing deep inside torch (or building for hours).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_SIZE", "check_values"]

#: Largest integer a model config takes (a width, a depth, a grid or vocabulary size): 2^16. Nothing physml
#: trains on one machine comes near, and a model of that depth still builds on the meta device in seconds.
MAX_SIZE = 2**16


def check_values(config_class: type, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``values`` with lists made tuples, each checked against its field's annotation; else ``ValueError``.

    ``where`` prefixes the key in messages (e.g. ``model.params``).
    """
    hints = typing.get_type_hints(config_class)
    checked = {}
    for field in dataclasses.fields(config_class):
        if field.name not in values:
            continue
        value = values[field.name]
        if isinstance(value, list):
            value = tuple(value)
        problem = _problem(value, hints[field.name])
        if problem is not None:
            raise ValueError(f"{where}.{field.name} = {value!r} is invalid: {problem}")
        checked[field.name] = value
    return checked


def _problem(value: Any, kind: Any) -> str | None:
    """Why ``value`` is not a ``kind`` (``None`` if it is)."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        reasons = [_problem(value, option) for option in args]
        return None if None in reasons else " or ".join(r for r in reasons if r)
    if kind is type(None):
        return None if value is None else "must be null"
    if origin is tuple:
        if not isinstance(value, tuple):
            return "must be a list"
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            return f"must be a list of {len(items)}"
        reasons = [_problem(v, k) for v, k in zip(value, items)]
        return next((f"entries {r}" for r in reasons if r), None)
    if kind is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        return None if abs(value) <= MAX_SIZE else f"must be an integer of magnitude <= {MAX_SIZE}"
    if kind is float:
        ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
        return None if ok else "must be a finite number"
    if kind is str:
        return None if isinstance(value, str) else "must be a string"
    return None  # anything else: the config's own checks decide
