"""Simulators that produce verified ground-truth fields (float64 throughout)."""

from physml.simulators.errors import UnstableRunError
from physml.simulators.grid import Grid
from physml.simulators.rollout import Stepper, rollout, steps_per_save

__all__ = ["Grid", "Stepper", "UnstableRunError", "rollout", "steps_per_save"]
