"""A dataset family whose simulation fails for one trajectory (tests of how builds stop)."""

from __future__ import annotations

from physml.datasets.families import SchrodingerFamily


class FailingFamily(SchrodingerFamily):
    """The Schrödinger family, except that a packet with ``sigma == 0.777`` makes the simulation fail."""

    name = "failing-schrodinger"

    def simulate(self, params, times):
        if params["sigma"] == 0.777:
            raise FloatingPointError("simulated failure")
        return super().simulate(params, times)
