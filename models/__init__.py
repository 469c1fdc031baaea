"""Surrogate models and physics-constraint losses (the learning stack lands in a later issue)."""

__all__: list[str] = []
