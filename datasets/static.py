"""Torch samples of static fields, one per trajectory: the targets of generation from a description alone.

A static family (``bh_images``: one ray-traced image per trajectory) has no
time axis to make windows of. :class:`StaticDataset` hands out each
trajectory's static fields as the target of a model that reads nothing but
its conditioning (text, parameters): the samples have the keys and shapes of
:class:`~physml.datasets.samples.WindowDataset`'s with no past steps
(``input_fields`` ``(0, C, *space)``, ``output_fields`` ``(1, C, *space)``),
so the trainer, the checkpoints and the modality transforms treat both alike.

Fields spanning decades (an image's intensity) are learned as logarithms:
``log_fields = {"intensity": floor}`` gives the channel ``log10(max(f, floor))``.
Normalisation (``zscore``, ``rms``) uses the statistics of the transformed
channels over the file's training split, whichever split is read, so every
split is in the units training saw. The chosen split is held in memory (a
static file is one frame per trajectory).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from physml.datasets.config import check_fraction
from physml.datasets.samples import Normalization, check_split_and_normalize, fraction_of, split_trajectories
from physml.datasets.schema import FIELD_GROUPS, StoreInfo, read_info, reading

__all__ = ["StaticDataset", "is_static"]

Sample = dict[str, Any]


def is_static(source: str | os.PathLike[str] | StoreInfo) -> bool:
    """Whether a file's fields are all static (no time-varying field to make windows of)."""
    info = source if isinstance(source, StoreInfo) else read_info(source)
    return not any(info.time_varying[n] for g in FIELD_GROUPS for n in info.field_names[g])


class StaticDataset(Dataset):
    """Each chosen trajectory's static fields as one sample (see the module doc).

    Parameters
    ----------
    path
        A physml file whose fields are static.
    split
        ``"train"``, ``"val"``, ``"test"``, ``"extrapolation"``, or ``None`` for all trajectories; a part of one as
        ``"extrapolation[:0.5]"`` (:func:`~physml.datasets.config.parse_split`).
    fields
        Static fields to use as channels (default: all).
    log_fields
        Field name -> floor ``> 0``: that channel is ``log10(max(field, floor))``.
    normalize
        ``None``, ``"zscore"`` or ``"rms"``, per channel, over the training split after ``log_fields``.
    normalization
        A :class:`Normalization` to use instead (a checkpoint's): the units a model was trained in.
    dtype, transforms, fraction
        As for :class:`~physml.datasets.samples.WindowDataset`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        split: str | None = None,
        fields: Sequence[str] | None = None,
        log_fields: Mapping[str, float] | None = None,
        normalize: str | None = None,
        normalization: Normalization | None = None,
        dtype: torch.dtype = torch.float32,
        transforms: Sequence[Callable[[Sample], Sample]] = (),
        fraction: float = 1.0,
    ) -> None:
        check_split_and_normalize(split, normalize)
        check_fraction(fraction)  # before any reading
        self.path = Path(path)
        self.info: StoreInfo = read_info(self.path)
        info = self.info
        if not is_static(info):
            raise ValueError(f"{self.path} has time-varying fields: read it with WindowDataset (data.n_input >= 1)")
        static = [n for g in FIELD_GROUPS for n in info.field_names[g]]
        self._groups = {n: g for g in FIELD_GROUPS for n in info.field_names[g]}
        if fields is None:
            self.channel_names = static
        else:
            unknown = [n for n in fields if n not in static]
            if unknown:
                raise ValueError(f"fields entry {unknown[0]!r} is invalid: choose from {static}")
            self.channel_names = list(fields)
        self.log_fields = dict(log_fields or {})
        for name, floor in self.log_fields.items():
            if name not in self.channel_names:
                raise ValueError(f"log_fields entry {name!r} is invalid: choose from the fields {self.channel_names}")
            if (
                isinstance(floor, bool)
                or not isinstance(floor, int | float)
                or not (math.isfinite(floor) and floor > 0)
            ):
                raise ValueError(f"log_fields.{name} = {floor!r} is invalid: must be a finite number > 0")
        #: No constant channels besides the targets (the trainer's window layout asks).
        self.constant_channel_names: list[str] = []
        self.constant_normalization: Normalization | None = None
        self.split, self.dtype, self.transforms = split, dtype, tuple(transforms)
        self.trajectories = split_trajectories(info, split)
        self.parameter_names = [n for n in info.per_trajectory_parameters if n in info.scalar_names]
        with reading(self.path), h5py.File(self.path, "r") as f:
            #: Spatial coordinates by axis name.
            self.axes = {name: f["dimensions"][name][...] for name in info.spatial_dims}
            self._parameters = {n: torch.as_tensor(f["scalars"][n][...]) for n in self.parameter_names}
            self._fields = self._read(f, self.trajectories)  # (N, C, *space), float64
            if normalization is None and normalize is not None:
                train = self._fields if split == "train" else self._read(f, split_trajectories(self.info, "train"))
                normalization = self._statistics(train, normalize)
        if normalization is not None and len(normalization.shift) != len(self.channel_names):
            raise ValueError(
                f"normalization has {len(normalization.shift)} channels; fields {self.channel_names} need "
                f"{len(self.channel_names)}"
            )
        self.normalization = normalization
        if fraction < 1:  # after the statistics: the units stay those of the whole split
            rows = np.searchsorted(self.trajectories, fraction_of(self.trajectories, fraction))
            self.trajectories, self._fields = self.trajectories[rows], self._fields[rows]
        self._row = {int(t): i for i, t in enumerate(self.trajectories)}

    def _read(self, f: h5py.File, rows: np.ndarray) -> torch.Tensor:
        channels = []
        for name in self.channel_names:
            values = f[self._groups[name]][name][rows] if len(rows) else np.empty((0, *self.info.shape))
            values = values.astype(np.float64)
            if name in self.log_fields:
                values = np.log10(np.maximum(np.nan_to_num(values, nan=0.0), self.log_fields[name]))
            channels.append(values)
        return torch.from_numpy(np.stack(channels, axis=1))  # (N, C, *space)

    @staticmethod
    def _statistics(fields: torch.Tensor, kind: str) -> Normalization:
        if len(fields) == 0:
            raise ValueError("normalize needs a training split with at least one trajectory")
        dims = [d for d in range(fields.ndim) if d != 1]
        if kind == "zscore":
            shift, scale = fields.mean(dim=dims), fields.std(dim=dims)
        else:
            shift, scale = torch.zeros(fields.shape[1], dtype=fields.dtype), fields.square().mean(dim=dims).sqrt()
        return Normalization(shift, torch.where(scale > 0, scale, torch.ones_like(scale)))

    # -- Dataset protocol -------------------------------------------------------
    def __len__(self) -> int:
        return len(self.trajectories)

    def locate(self, index: int) -> tuple[int, int]:
        """``(trajectory, 0)`` of sample ``index``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} samples")
        return int(self.trajectories[index % len(self)]), 0

    def __getitem__(self, index: int) -> Sample:
        traj, _ = self.locate(index)
        fields = self._fields[self._row[traj]]  # (C, *space)
        if self.normalization is not None:
            fields = self.normalization.normalize(fields, channel_dim=0)
        fields = fields.to(self.dtype)
        sample: Sample = {
            "input_fields": fields.new_zeros((0, *fields.shape)),
            "output_fields": fields[None],
            "input_time": torch.zeros(0, dtype=self.dtype),
            "output_time": torch.zeros(1, dtype=self.dtype),
            "parameters": {
                name: values[traj].to(self.dtype) if values.is_floating_point() else values[traj]
                for name, values in self._parameters.items()
            },
            "trajectory": torch.tensor(traj),
            "start": torch.tensor(0),
        }
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    def close(self) -> None:
        """Nothing to close: the split is held in memory."""

    def normalization_dict(self) -> dict[str, Any]:
        """As :meth:`WindowDataset.normalization_dict <physml.datasets.samples.WindowDataset.normalization_dict>`."""
        return {"fields": None if self.normalization is None else self.normalization.to_dict(), "constant": None}

    def denormalize(self, fields: torch.Tensor, channel_dim: int | None = None) -> torch.Tensor:
        """Undo the normalisation (not the logarithm: :meth:`physical` does both)."""
        if self.normalization is None:
            return fields
        if channel_dim is None:
            channel_dim = -(len(self.info.spatial_dims) + 1)
        return self.normalization.denormalize(fields, channel_dim)

    def physical(self, fields: torch.Tensor, channel_dim: int | None = None) -> torch.Tensor:
        """Model-unit fields back in the file's units: undo the normalisation, then the logarithm."""
        values = self.denormalize(fields, channel_dim)
        if channel_dim is None:
            channel_dim = -(len(self.info.spatial_dims) + 1)
        parts = list(values.unbind(channel_dim))
        for i, name in enumerate(self.channel_names):
            if name in self.log_fields:
                parts[i] = torch.pow(10.0, parts[i])
        return torch.stack(parts, dim=channel_dim)

    def __repr__(self) -> str:
        return (
            f"StaticDataset({str(self.path)!r}, split={self.split!r}, {len(self)} trajectories, "
            f"channels={self.channel_names}, log_fields={self.log_fields})"
        )
