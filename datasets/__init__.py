"""Simulation data on disk: HDF5 in The Well's layout, built in parallel, read as xarray or torch samples.

- :func:`build_dataset` runs a configuration (:func:`load_config`,
  :func:`list_configs`) into a file, resumably, on local processes or Dask.
- :func:`open_dataset` opens any Well-layout file as a lazy ``xarray.Dataset``.
- :class:`WindowDataset` turns a file into torch samples for training; :class:`Modalities`
  adds each trajectory's description (``Family.caption``), its tokens (:class:`Tokenizer`,
  trained on :func:`file_descriptions`) and its picture (``Family.render``).
- :func:`read_info` and :func:`validate` inspect a file; ``docs/data_format.md`` has the schema.
"""

from physml.datasets.build import BuildReport, build_dataset
from physml.datasets.config import BuildConfig, list_configs, load_config
from physml.datasets.descriptions import file_descriptions, read_parameters
from physml.datasets.families import FAMILIES, Family, get_family, register_family
from physml.datasets.parallel import BuildError
from physml.datasets.plan import make_plan
from physml.datasets.schema import SCHEMA_VERSION, DataFileError, StoreInfo, read_info
from physml.datasets.schrodinger import describe_system, write_schrodinger_run
from physml.datasets.validation import ValidationReport, validate
from physml.datasets.views import open_dataset
from physml.datasets.well import write_trajectories

__all__ = [
    "FAMILIES",
    "SCHEMA_VERSION",
    "BuildConfig",
    "BuildError",
    "BuildReport",
    "DataFileError",
    "Family",
    "Modalities",
    "StoreInfo",
    "Tokenizer",
    "ValidationReport",
    "WindowDataset",
    "build_dataset",
    "describe_system",
    "file_descriptions",
    "get_family",
    "list_configs",
    "load_config",
    "make_plan",
    "open_dataset",
    "read_info",
    "read_parameters",
    "register_family",
    "validate",
    "write_schrodinger_run",
    "write_trajectories",
]


def __getattr__(name: str):
    # torch is imported only when the torch bridge is used.
    if name == "WindowDataset":
        from physml.datasets.samples import WindowDataset

        return WindowDataset
    if name == "Modalities":
        from physml.datasets.modalities import Modalities

        return Modalities
    if name == "Tokenizer":
        from physml.datasets.tokenizer import Tokenizer

        return Tokenizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
