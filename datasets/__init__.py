"""Simulation data on disk: HDF5 in The Well's layout."""

from physml.datasets.schrodinger import describe_system, write_schrodinger_run
from physml.datasets.well import SCHEMA_VERSION, write_trajectories

__all__ = ["SCHEMA_VERSION", "describe_system", "write_schrodinger_run", "write_trajectories"]
