"""Errors raised by simulators when a run cannot go on (defined in :mod:`physml.errors`)."""

from __future__ import annotations

from physml.errors import UnstableRunError

__all__ = ["UnstableRunError"]
