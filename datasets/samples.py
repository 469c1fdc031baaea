"""Torch samples from a store: windows of ``n_input`` past steps and ``n_output`` future steps.

This is the only bridge from files to models: a model sees dictionaries of
tensors, never HDF5. Each process (every ``DataLoader`` worker) opens its own
read-only file handle on first use.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from physml.datasets.config import check_fraction, parse_split
from physml.datasets.lazy import FileHandle
from physml.datasets.schema import FIELD_GROUPS, DataFileError, StoreInfo, read_info, reading

__all__ = ["NORMALIZATIONS", "Normalization", "WindowDataset", "fraction_of", "split_part", "split_trajectories"]

NORMALIZATIONS = (None, "zscore", "rms")
Sample = dict[str, Any]


@dataclass(frozen=True)
class Normalization:
    """Per-channel ``(x - shift) / scale``, from a file's stored statistics."""

    shift: torch.Tensor
    scale: torch.Tensor

    def _view(self, t: torch.Tensor, x: torch.Tensor, channel_dim: int) -> torch.Tensor:
        shape = [1] * x.ndim
        shape[channel_dim] = -1
        return t.to(device=x.device, dtype=x.dtype).view(shape)

    def normalize(self, x: torch.Tensor, channel_dim: int) -> torch.Tensor:
        return (x - self._view(self.shift, x, channel_dim)) / self._view(self.scale, x, channel_dim)

    def denormalize(self, x: torch.Tensor, channel_dim: int) -> torch.Tensor:
        return x * self._view(self.scale, x, channel_dim) + self._view(self.shift, x, channel_dim)

    def to_dict(self) -> dict[str, list[float]]:
        """Plain values (for checkpoints); :meth:`from_dict` rebuilds it."""
        return {"shift": self.shift.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Normalization:
        shift, scale = (torch.as_tensor(values[k], dtype=torch.float64) for k in ("shift", "scale"))
        if shift.ndim != 1 or shift.shape != scale.shape or not bool((scale > 0).all() and shift.isfinite().all()):
            raise ValueError(f"normalization {values!r} is invalid: equal-length lists, scales > 0, finite shifts")
        return cls(shift, scale)


def fraction_of(trajectories: np.ndarray, fraction: float) -> np.ndarray:
    """The first ``ceil(fraction · n)`` of ``trajectories`` in one fixed shuffled order, sorted.

    The order depends on nothing but the trajectories themselves, so the subsets are the same on every
    machine and nested: the 10 % a run trains on lies inside the 25 % of another (data-efficiency curves).
    """
    check_fraction(fraction)
    return split_part(trajectories, 0.0, fraction)


def split_part(trajectories: np.ndarray, start: float, stop: float) -> np.ndarray:
    """The trajectories from ``ceil(start · n)`` to ``ceil(stop · n)`` in :func:`fraction_of`'s fixed order, sorted:
    parts ``[a, b)`` and ``[b, c)`` never share a trajectory, and ``[0, f)`` is ``fraction_of(trajectories, f)``."""
    trajectories = np.asarray(trajectories)
    low, high = (int(np.ceil(v * len(trajectories) - 1e-9)) for v in (start, stop))
    order = np.random.default_rng(0).permutation(len(trajectories))
    return np.sort(trajectories[order[low:high]])


def split_trajectories(info: StoreInfo, split: str | None) -> np.ndarray:
    """The completed trajectories of ``split`` (or a part of one, ``extrapolation[:0.5]``), sorted; all of them for
    ``None``. Raises ``ValueError`` for a split of a file without split information."""
    chosen = info.completed.copy()
    if split is None:
        return np.flatnonzero(chosen)
    if info.splits.size == 0:
        raise ValueError(f"split = {split!r} is invalid for {info.path}: the file has no split information")
    name, start, stop = parse_split(split)
    return split_part(np.flatnonzero(chosen & (info.splits == name)), start, stop)


def check_split_and_normalize(split: str | None, normalize: str | None) -> None:
    """``ValueError`` unless ``split`` and ``normalize`` are ones a dataset of samples reads."""
    if split is not None:
        parse_split(split)
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize = {normalize!r} is invalid: choose None, 'zscore' or 'rms'")


class WindowDataset(Dataset):
    """Windows of a Well-layout file as dictionaries of tensors.

    Sample ``k`` is trajectory ``i`` from save ``s``: input steps ``s, s + d, ...,
    s + (n_input - 1) d`` and the ``n_output`` steps after them, with ``d =
    time_stride``; consecutive windows start ``window_stride`` saves apart.

    Parameters
    ----------
    path
        A file written by physml (or a plain Well file).
    n_input, n_output
        Number of past (input) and future (target) steps.
    time_stride
        Saves between consecutive steps of a window.
    window_stride
        Saves between the starts of consecutive windows of a trajectory.
    split
        ``"train"``, ``"val"``, ``"test"``, ``"extrapolation"``, or ``None`` for all trajectories; a part of one as
        ``"extrapolation[:0.5]"`` (:func:`~physml.datasets.config.parse_split`).
    fields
        Time-varying stored fields to use as channels (default: all), e.g.
        ``["psi_real", "psi_imag"]``. A complex field's name selects both parts.
    constant_fields
        Static stored fields (default: all), e.g. ``["potential"]``; ``[]`` for none.
    normalize
        ``None``, ``"zscore"`` (``(x - mean) / std``) or ``"rms"`` (``x / rms``),
        per channel, with the statistics stored in the file (training split).
    dtype
        Floating dtype of the returned tensors.
    transforms
        Callables ``f(sample) -> sample`` applied in order (e.g. text or image
        modalities added by later layers).
    in_memory
        Read the chosen trajectories' fields into memory once, instead of
        from the file per sample. A window read from HDF5 costs ~0.7 ms,
        about a third of an FNO training step on a 1D dataset; use it when the
        split fits in RAM (``(trajectories, times, *space)`` per channel, in the file's dtype).
    fraction
        Read only this share of the split's trajectories (:func:`fraction_of`: a fixed, nested subset);
        normalisation still comes from the file's statistics, so runs on different shares see the same units.

    Each sample holds ``input_fields`` ``(n_input, C, *space)``,
    ``output_fields`` ``(n_output, C, *space)``, ``constant_fields``
    ``(C_const, *space)``, ``input_time`` and ``output_time``, ``parameters``
    (name -> 0-d tensor: per-trajectory parameters, categorical ones as integer
    codes, NaN where one does not apply), ``trajectory`` and ``start``.
    ``DataLoader``'s default collation stacks them into batches.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        n_input: int = 1,
        n_output: int = 1,
        time_stride: int = 1,
        window_stride: int = 1,
        split: str | None = None,
        fields: Sequence[str] | None = None,
        constant_fields: Sequence[str] | None = None,
        normalize: str | None = None,
        dtype: torch.dtype = torch.float32,
        transforms: Sequence[Callable[[Sample], Sample]] = (),
        in_memory: bool = False,
        fraction: float = 1.0,
    ) -> None:
        for name, value in (("n_input", n_input), ("n_output", n_output), ("time_stride", time_stride),
                            ("window_stride", window_stride)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} = {value!r} is invalid: must be an integer >= 1")
        check_split_and_normalize(split, normalize)
        self.path = Path(path)
        self.info: StoreInfo = read_info(self.path)
        info = self.info
        self.n_input, self.n_output = n_input, n_output
        self.time_stride, self.window_stride = time_stride, window_stride
        self.split, self.dtype, self.transforms = split, dtype, tuple(transforms)

        varying = [n for g in FIELD_GROUPS for n in info.field_names[g] if info.time_varying[n]]
        static = [n for g in FIELD_GROUPS for n in info.field_names[g] if not info.time_varying[n]]
        self.channel_names = self._select("fields", fields, varying, info.complex_fields)
        self.constant_channel_names = self._select("constant_fields", constant_fields, static, info.complex_fields)
        self._groups = {n: g for g in FIELD_GROUPS for n in info.field_names[g]}
        if any(self._groups[n] != "t0_fields" for n in (*self.channel_names, *self.constant_channel_names)):
            raise ValueError("only scalar (t0) fields are supported as channels so far")

        self.trajectories = fraction_of(split_trajectories(info, split), fraction)
        span = (n_input + n_output - 1) * time_stride
        if span >= info.n_times:
            raise ValueError(
                f"n_input + n_output = {n_input + n_output} steps with time_stride = {time_stride} span "
                f"{span + 1} saves; the file has {info.n_times}"
            )
        self.windows_per_trajectory = (info.n_times - 1 - span) // window_stride + 1
        self.parameter_names = [n for n in info.per_trajectory_parameters if n in info.scalar_names]
        with reading(self.path), h5py.File(self.path, "r") as f:
            self.normalization = self._normalization(normalize, self.channel_names)
            self.constant_normalization = self._normalization(normalize, self.constant_channel_names)
            self._time = torch.as_tensor(f["dimensions/time"][...], dtype=torch.float64)
            #: Spatial coordinates by axis name (e.g. for spectral derivatives in physics losses).
            self.axes = {name: f["dimensions"][name][...] for name in info.spatial_dims}
            self._parameters = {name: torch.as_tensor(f["scalars"][name][...]) for name in self.parameter_names}
        wrong = {n: tuple(v.shape) for n, v in self._parameters.items() if tuple(v.shape) != (info.n_trajectories,)}
        if wrong or tuple(self._time.shape) != (info.n_times,):
            raise DataFileError(
                f"{self.path}: scalars {wrong} or times {tuple(self._time.shape)} do not match "
                f"{info.n_trajectories} trajectories and {info.n_times} saves"
            )
        self._file = FileHandle(self.path)  # one read-only handle per process (DataLoader workers too)
        #: Field name -> its rows of the chosen trajectories, when held in memory.
        self._memory: dict[str, np.ndarray] | None = None
        if in_memory:
            rows = self.trajectories
            with reading(self.path), h5py.File(self.path, "r") as f:
                self._memory = {c: f[self._groups[c]][c][rows] if len(rows) else np.empty(0)
                                for c in (*self.channel_names, *self.constant_channel_names)}  # fmt: skip
            self._row = {int(t): i for i, t in enumerate(rows)}

    @staticmethod
    def _select(
        what: str, requested: Sequence[str] | None, available: list[str], complex_fields: Mapping[str, list[str]]
    ) -> list[str]:
        if requested is None:
            return list(available)
        names: list[str] = []
        for name in requested:
            parts = complex_fields.get(name, [name])
            missing = [p for p in parts if p not in available]
            if missing:
                choices = sorted({*available, *(k for k, v in complex_fields.items() if v[0] in available)})
                raise ValueError(f"{what} entry {name!r} is invalid: choose from {choices}")
            names += parts
        return names

    def _normalization(self, kind: str | None, channels: list[str]) -> Normalization | None:
        if kind is None or not channels:
            return None
        stats = self.info.statistics
        missing = [c for c in channels if c not in stats]
        if missing:
            raise DataFileError(f"{self.path} has no statistics for {missing}: cannot normalise (normalize=None works)")
        scale_key = "std" if kind == "zscore" else "rms"
        shift = [stats[c]["mean"] if kind == "zscore" else 0.0 for c in channels]
        # A constant channel (std = 0) is left unscaled rather than divided by zero.
        scale = [stats[c][scale_key] if stats[c][scale_key] > 0 else 1.0 for c in channels]
        return Normalization(torch.tensor(shift, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64))

    # -- Dataset protocol -------------------------------------------------------
    def __len__(self) -> int:
        return len(self.trajectories) * self.windows_per_trajectory

    def close(self) -> None:
        """Close this process's file handle (reopened on the next access)."""
        self._file.close()

    def locate(self, index: int) -> tuple[int, int]:
        """``(trajectory, start save)`` of sample ``index``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} samples")
        index %= len(self)
        traj, window = divmod(index, self.windows_per_trajectory)
        return int(self.trajectories[traj]), window * self.window_stride

    def __getitem__(self, index: int) -> Sample:
        traj, start = self.locate(index)
        d = self.time_stride
        steps = slice(start, start + (self.n_input + self.n_output - 1) * d + 1, d)
        with reading(self.path, f"trajectory {traj}"):
            if self._memory is None:
                f = self._file.get()
                source = {c: f[self._groups[c]][c] for c in (*self.channel_names, *self.constant_channel_names)}
                row = traj
            else:
                source, row = self._memory, self._row[traj]
            window = self._stack([source[c][row, steps] for c in self.channel_names], axis=1)
            if self.constant_channel_names:
                constant = self._stack([source[c][row] for c in self.constant_channel_names], axis=0)
        if self.normalization is not None:
            window = self.normalization.normalize(window, channel_dim=1)
        times = self._time[steps]
        sample: Sample = {
            "input_fields": window[: self.n_input].to(self.dtype),
            "output_fields": window[self.n_input :].to(self.dtype),
            "input_time": times[: self.n_input].to(self.dtype),
            "output_time": times[self.n_input :].to(self.dtype),
            "parameters": {
                name: values[traj].to(self.dtype) if values.is_floating_point() else values[traj]
                for name, values in self._parameters.items()
            },
            "trajectory": torch.tensor(traj),
            "start": torch.tensor(start),
        }
        if self.constant_channel_names:
            if self.constant_normalization is not None:
                constant = self.constant_normalization.normalize(constant, channel_dim=0)
            sample["constant_fields"] = constant.to(self.dtype)
        for transform in self.transforms:
            sample = transform(sample)
        return sample

    @staticmethod
    def _stack(arrays: list[np.ndarray], axis: int) -> torch.Tensor:
        return torch.from_numpy(np.stack(arrays, axis=axis).astype(np.float64, copy=False))

    @property
    def step_time(self) -> float:
        """Time between consecutive saves of a window (``time_stride`` saves), from the file's first ones."""
        return float(self._time[self.time_stride] - self._time[0])

    @property
    def lengths(self) -> tuple[float, ...]:
        """Periodic box length per spatial axis (points times spacing)."""
        return tuple(float(len(x) * (x[1] - x[0])) for x in self.axes.values())

    def normalization_dict(self) -> dict[str, Any]:
        """The normalisation of fields and constant fields as plain values (``Normalization.from_dict`` each).

        Checkpoints carry their training file's: a model reads any other file (a longer test set, a new
        build) in the units it was trained in, not in that file's own statistics.
        """
        parts = {"fields": self.normalization, "constant": self.constant_normalization}
        return {name: None if norm is None else norm.to_dict() for name, norm in parts.items()}

    def use_normalization(self, saved: Mapping[str, Any] | None, *, strict: bool = True) -> None:
        """Read this file in another's units: ``saved`` (the :meth:`normalization_dict` of the file a model learnt
        on) replaces each part (``fields``, ``constant``) this dataset normalises. A part of another channel count
        is an error, or, with ``strict=False``, stays in this file's units."""
        for attribute, part in (("normalization", "fields"), ("constant_normalization", "constant")):
            own, theirs = getattr(self, attribute), (saved or {}).get(part)
            if own is None or theirs is None:
                continue
            norm = Normalization.from_dict(theirs)
            if norm.scale.shape == own.scale.shape:
                setattr(self, attribute, norm)
            elif strict:
                raise ValueError(f"{self.path} has {len(own.scale)} {part} channels; the model was trained on "
                                 f"{len(norm.scale)}")  # fmt: skip

    def denormalize(self, fields: torch.Tensor, channel_dim: int | None = None) -> torch.Tensor:
        """Undo ``normalize`` on time-varying channels.

        ``channel_dim`` defaults to the axis before the spatial ones, which fits
        both a sample ``(T, C, *space)`` and a batch ``(B, T, C, *space)``.
        """
        if self.normalization is None:
            return fields
        if channel_dim is None:
            channel_dim = -(len(self.info.spatial_dims) + 1)
        return self.normalization.denormalize(fields, channel_dim)

    def __repr__(self) -> str:
        return (
            f"WindowDataset({str(self.path)!r}, split={self.split!r}, {len(self.trajectories)} trajectories x "
            f"{self.windows_per_trajectory} windows, channels={self.channel_names}, "
            f"constant={self.constant_channel_names}, n_input={self.n_input}, n_output={self.n_output})"
        )
