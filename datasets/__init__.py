"""Simulation data on disk: HDF5 in The Well's layout, built in parallel, read as xarray or torch samples.

- :func:`build_dataset` runs a configuration (:func:`load_config`,
  :func:`list_configs`) into a file, resumably, on local processes or Dask;
  :func:`simulate_to_file` runs one trajectory of one in this process (``physml simulate``).
- :func:`open_dataset` opens any Well-layout file as a lazy ``xarray.Dataset``.
- :class:`WindowDataset` turns a file into torch samples for training (:class:`StaticDataset`
  a file of static fields, one sample per trajectory); :class:`Modalities`
  adds each trajectory's description (``Family.caption``), its tokens (:class:`Tokenizer`,
  trained on :func:`file_descriptions`) and its picture (``Family.render``).
- :class:`Camera` films a window of fields as the RGB frames of a video (the ``video`` modality).
- :func:`read_info` and :func:`validate` inspect a file; ``docs/data_format.md`` has the schema.

Every name is imported on first use: ``import physml.datasets`` loads no simulator, h5py,
xarray or torch.
"""

from typing import TYPE_CHECKING

from physml._lazy import lazy_exports

__all__ = [
    "FAMILIES",
    "SCHEMA_VERSION",
    "BuildConfig",
    "BuildError",
    "BuildReport",
    "Camera",
    "DataFileError",
    "Family",
    "Modalities",
    "SimulatedRun",
    "StaticDataset",
    "StoreInfo",
    "Tokenizer",
    "ValidationReport",
    "WindowDataset",
    "build_dataset",
    "file_descriptions",
    "get_family",
    "is_static",
    "list_configs",
    "load_config",
    "make_plan",
    "open_dataset",
    "read_info",
    "read_parameters",
    "register_family",
    "simulate_to_file",
    "validate",
]

_MODULES = {
    "physml.datasets.build": ("BuildReport", "build_dataset"),
    "physml.datasets.config": ("BuildConfig", "list_configs", "load_config"),
    "physml.datasets.descriptions": ("file_descriptions", "read_parameters"),
    "physml.datasets.families": ("FAMILIES", "Family", "get_family", "register_family"),
    "physml.datasets.modalities": ("Modalities",),
    "physml.datasets.parallel": ("BuildError",),
    "physml.datasets.plan": ("make_plan",),
    "physml.datasets.samples": ("WindowDataset",),
    "physml.datasets.schema": ("SCHEMA_VERSION", "DataFileError", "StoreInfo", "read_info"),
    "physml.datasets.simulate": ("SimulatedRun", "simulate_to_file"),
    "physml.datasets.static": ("StaticDataset", "is_static"),
    "physml.datasets.tokenizer": ("Tokenizer",),
    "physml.datasets.validation": ("ValidationReport", "validate"),
    "physml.datasets.video": ("Camera",),
    "physml.datasets.views": ("open_dataset",),
}
__getattr__, __dir__ = lazy_exports(__name__, {name: module for module, names in _MODULES.items() for name in names})

if TYPE_CHECKING:
    from physml.datasets.build import BuildReport, build_dataset
    from physml.datasets.config import BuildConfig, list_configs, load_config
    from physml.datasets.descriptions import file_descriptions, read_parameters
    from physml.datasets.families import FAMILIES, Family, get_family, register_family
    from physml.datasets.modalities import Modalities
    from physml.datasets.parallel import BuildError
    from physml.datasets.plan import make_plan
    from physml.datasets.samples import WindowDataset
    from physml.datasets.schema import SCHEMA_VERSION, DataFileError, StoreInfo, read_info
    from physml.datasets.simulate import SimulatedRun, simulate_to_file
    from physml.datasets.static import StaticDataset, is_static
    from physml.datasets.tokenizer import Tokenizer
    from physml.datasets.validation import ValidationReport, validate
    from physml.datasets.video import Camera
    from physml.datasets.views import open_dataset
