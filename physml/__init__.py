"""physml: verified physics simulators, datasets and surrogate models.

Subpackages
-----------
physml.simulators
    Numba/FFTW simulators (float64): Schrödinger, and more to come.
physml.kernels
    Numerics shared by simulators and losses (FFT plans, pointwise kernels).
physml.datasets
    HDF5 files in The Well's layout, xarray views, torch samples.
physml.models
    Surrogate models and physics-constraint losses.
"""

from pathlib import Path

from physml._layout import install_source_tree_finder
from physml._version import __version__

install_source_tree_finder(Path(__file__).resolve().parent)

__all__ = ["__version__"]
