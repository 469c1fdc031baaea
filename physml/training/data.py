"""What a training run reads: its samples (windows of a trajectory, or static fields) and their channel layout,
for each dataset it trains on (:class:`Source`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from physml.datasets.samples import WindowDataset
from physml.datasets.static import StaticDataset, is_static
from physml.models import FieldFormat
from physml.training.config import DataConfig, TrainConfig

__all__ = ["Source", "field_format", "in_saved_units", "training_samples", "training_sources"]


@dataclass(frozen=True)
class Source:
    """One dataset of a run: its config, training and validation samples and how a model sees them."""

    data: DataConfig
    train: WindowDataset | StaticDataset
    val: WindowDataset | StaticDataset
    format: FieldFormat

    def to_dict(self) -> dict[str, Any]:
        """What a joint run's checkpoint keeps of it: the data config, the format and the normalisation."""
        return {"data": dataclasses.asdict(self.data), "format": self.format.to_dict(),
                "normalization": self.train.normalization_dict()}  # fmt: skip


def training_sources(config: TrainConfig, *, transforms: Any) -> dict[str, Source]:
    """Each dataset of ``config`` by name (:attr:`TrainConfig.datasets`) as a :class:`Source`.

    ``transforms(path, vary)``: the sample transforms of a file's samples (descriptions, images), ``vary`` for
    the training split. Raises ``ValueError`` for a dataset without training windows.
    """
    sources = {}
    for name, data in config.datasets.items():
        train = training_samples(config, "train", transforms=transforms(data.path, True), data=data)
        if len(train) == 0:
            raise ValueError(f"{data.path} has no training windows in {data.train_split} for n_input={data.n_input}, "
                             f"unroll={config.unroll}")  # fmt: skip
        val = training_samples(config, "val", transforms=transforms(data.path, False), data=data)
        sources[name] = Source(data, train, val, field_format(train, config, data=data))
    constants = {c for s in sources.values() for c in s.train.constant_channel_names}
    unknown = sorted(set(config.model.squash) - constants)
    if unknown:
        raise ValueError(f"model.squash names {unknown}, which are constant fields of none of the datasets")
    return sources


def in_saved_units(sources: dict[str, Source], extra: Mapping[str, Any], config: TrainConfig) -> dict[str, Source]:
    """A fine-tune's datasets read in the units its starting weights learnt: each dataset of windows the
    checkpoint (``extra``) knows, by name (a single run's one dataset: the checkpoint's one), takes its
    normalisation, and its format is made again (squash scales are in normalised units). A new family, a
    static dataset or one of other channels keeps its own file's statistics."""
    saved = {name: s.get("normalization") for name, s in extra.get("sources", {}).items()}
    if not saved and "normalization" in extra:
        saved = {"": extra["normalization"]}
    out = dict(sources)
    for name, source in sources.items():
        units = saved.get(name)
        if not isinstance(units, Mapping) or not isinstance(source.train, WindowDataset):
            continue
        for dataset in (source.train, source.val):
            dataset.use_normalization(units, strict=False)
        out[name] = dataclasses.replace(source, format=field_format(source.train, config, data=source.data))
    return out


def training_samples(
    config: TrainConfig, split: str | None, *, transforms: list[Any], data: DataConfig | None = None
) -> WindowDataset | StaticDataset:
    """The samples of ``split`` a run with ``config`` reads: windows, or static fields for ``n_input = 0``
    (of the training split, ``data.train_fraction`` of its trajectories).

    ``transforms``: sample transforms (descriptions, images; see :mod:`physml.training.conditioning`);
    ``data``: which of a joint run's datasets (``config.data`` by default). ``"train"`` and ``"val"`` read the
    data's ``train_split`` and ``val_split`` (``train`` and ``val`` unless a fine-tune names parts of another).
    """
    data = config.data if data is None else data
    fraction = data.train_fraction if split == "train" else 1.0
    split = {"train": data.train_split, "val": data.val_split}.get(split, split)
    if data.n_input == 0:
        if config.unroll != 1:
            raise ValueError(f"unroll = {config.unroll} is invalid with data.n_input = 0: nothing is rolled out")
        return StaticDataset(data.path, split=split, fields=data.fields, log_fields=data.log_fields,
                             normalize=data.normalize, transforms=transforms, fraction=fraction)  # fmt: skip
    if is_static(data.path):
        raise ValueError(f"data.n_input = {data.n_input} is invalid for {data.path}: its fields are static "
                         "(no time steps); use n_input = 0 to generate them from the conditioning")  # fmt: skip
    return WindowDataset(
        data.path, split=split, transforms=transforms, n_input=data.n_input, n_output=config.unroll,
        time_stride=data.time_stride, fields=data.fields, constant_fields=data.constant_fields,
        normalize=data.normalize, in_memory=data.in_memory, fraction=fraction,
    )  # fmt: skip


def field_format(
    dataset: WindowDataset | StaticDataset, config: TrainConfig, *, data: DataConfig | None = None
) -> FieldFormat:
    """How ``config``'s model sees ``dataset``'s windows: channel counts, residual, squashed constants.

    ``model.squash`` scales are physical; the dataset hands out constants
    divided by their normalisation scale, so the format gets them in those units.
    """
    names = dataset.constant_channel_names
    unknown = sorted(set(config.model.squash) - set(names))
    if unknown and not config.joint:  # (a joint run squashes each name where a family has it)
        raise ValueError(f"model.squash names {unknown}, which are not constant fields of this run: {names}")
    norm = dataset.constant_normalization
    if config.model.squash and norm is not None and bool((norm.shift != 0).any()):
        raise ValueError("model.squash needs data.normalize = rms or null (a shifted potential has no natural zero)")
    squash = []
    for index, name in enumerate(names):
        scale = config.model.squash.get(name, 0.0)
        squash.append(scale / float(norm.scale[index]) if norm is not None else scale)
    return FieldFormat(
        (config.data if data is None else data).n_input,
        len(dataset.channel_names),
        len(names),
        residual=config.model.residual,
        squash=tuple(squash) if config.model.squash else (),
    )
