"""A trained surrogate as evaluation reads it: the model, the format and units it was trained with.

:func:`load_surrogate` restores one from a ``physml train`` checkpoint (``weights_only`` loading, every
stored value checked); :func:`persistence_like` is the "nothing changes" baseline reading the same
windows. Both :mod:`~physml.training.evaluate` and :mod:`~physml.training.generation` score these.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from physml.datasets.samples import WindowDataset
from physml.models import FieldFormat, PersistenceConfig, build_model, load_checkpoint
from physml.training.conditioning import Conditioning, modality_transforms
from physml.training.config import train_config_from_dict

__all__ = ["Surrogate", "load_surrogate", "persistence_like"]


@dataclasses.dataclass
class Surrogate:
    """A trained model with the format it was trained with: what predicts the next state of a window.

    Attributes
    ----------
    model
        The network, in eval mode.
    format
        How windows become its inputs and its outputs the next state.
    data
        The training run's data config (``n_input``, ``fields``, ``normalize``...), for reading windows alike.
    normalization
        The training file's normalisation (``fields``, ``constant``: shift and scale per channel):
        every file is read in these units. ``None`` (checkpoints of earlier versions): each file's own.
    """

    model: nn.Module
    format: FieldFormat
    data: dict[str, Any]
    conditioning: Conditioning = dataclasses.field(default_factory=Conditioning)
    seed: int = 0
    normalization: Mapping[str, Any] | None = None

    def windows(self, path: str | os.PathLike[str], *, split: str | None, n_output: int = 1, **kwargs: Any):
        """A :class:`WindowDataset` of ``path`` read the way this model was trained on (with its text and images).

        One model step is the run's ``data.time_stride`` saves; pass ``time_stride`` (and ``n_input``) to read others.
        """
        data, cond = self.data, self.conditioning
        kwargs.setdefault("time_stride", data.get("time_stride", 1))
        if "transforms" not in kwargs:  # (setdefault would build them, reading the file, even when given)
            kwargs["transforms"] = modality_transforms(
                path, text=cond.tokenizer is not None, image_size=cond.image_size, seed=self.seed, vary=False
            )
        dataset = WindowDataset(
            path, n_input=kwargs.pop("n_input", data["n_input"]), n_output=n_output, split=split, fields=data["fields"],
            constant_fields=data["constant_fields"], normalize=data["normalize"], **kwargs,
        )  # fmt: skip
        dataset.use_normalization(self.normalization)  # every file in the units the model was trained in
        return dataset

    def context(self, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """The model's text and image inputs from a batch of :meth:`windows`."""
        return self.conditioning(batch, next(iter(self.model.parameters()), torch.empty(0)).device)

    @torch.no_grad()
    def rollout(
        self,
        fields: torch.Tensor,
        constant: torch.Tensor | None,
        n_steps: int,
        batch: Mapping[str, Any] | None = None,
    ) -> torch.Tensor:
        """``n_steps`` autoregressive predictions ``(B, n_steps, C, *space)`` from windows ``(B, T, C, *space)``.

        ``batch``: the windows' batch, for a model that also reads their descriptions or images.
        """
        read = [m for m in self.conditioning.modalities if m != "video"]  # (a film is made of the fields themselves)
        if batch is None and read:
            raise ValueError(
                f"batch is None, but this model reads {read}: pass the windows' batch "
                "(or {} to run it without them, if it was trained to)"
            )
        device = next(iter(self.model.parameters()), torch.empty(0)).device
        constant = None if constant is None else constant.to(device)
        context = None if batch is None and not self.conditioning.modalities else self.context(batch or {})
        return self.format.rollout(self.model, fields.to(device), constant, n_steps, context)


def load_surrogate(
    checkpoint: str | os.PathLike[str],
    *,
    device: str | torch.device = "cpu",
    family: str | None = None,
    data: str | os.PathLike[str] | None = None,
) -> Surrogate:
    """The model of a ``physml train`` checkpoint (``best.pt`` or ``last.pt``) with its format, on ``device``.

    A joint run's model (several families) is read as one family's: ``family`` by name, or the one whose name is
    the ``family`` of the file ``data`` (the file it will be scored on); that family's format, data config and
    normalisation come with it, and its model shares the others' trunk.
    """
    model, extra = load_checkpoint(checkpoint, device=device)
    if "config" not in extra or "format" not in extra:
        raise ValueError(f"{checkpoint} was not written by physml train: it has no training config or format")
    damaged = (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError, OverflowError)
    try:
        config = train_config_from_dict(extra["config"])
        fmt = FieldFormat(**extra["format"])
        conditioning = Conditioning.from_dict(extra.get("conditioning"))
    except damaged as exc:
        raise ValueError(f"checkpoint {checkpoint} is damaged or was edited: {type(exc).__name__}: {exc}") from None
    family = _family(checkpoint, list(config.datasets), family, data) if config.joint else ""
    try:
        if config.joint:
            source = extra["sources"][family]
            model, fmt, data_config = model.members[family], FieldFormat(**source["format"]), source["data"]
            normalization = source["normalization"]
        else:
            data_config, normalization = dataclasses.asdict(config.data), extra.get("normalization")
        _check_fit(model, fmt, data_config["n_input"])
    except damaged as exc:
        raise ValueError(f"checkpoint {checkpoint} is damaged or was edited: {type(exc).__name__}: {exc}") from None
    if normalization is not None and not isinstance(normalization, dict):
        raise ValueError(f"checkpoint {checkpoint} is damaged or was edited: normalization is not a mapping")
    return Surrogate(model.eval(), fmt, data_config, conditioning, config.seed, normalization)


def _family(checkpoint: Any, families: list[str], family: str | None, data: Any) -> str:
    """Which family of a joint model to read: the one named, or the data file's."""
    if family is None and data is not None:
        from physml.datasets import read_info

        family = read_info(data).family
        if family not in families:
            raise ValueError(f"{checkpoint} is a joint model of {families}; {data} holds {family!r}, none of them "
                             "(a joint run names its datasets after their files' families)")  # fmt: skip
    if family not in families:
        raise ValueError(f"family = {family!r} is invalid for {checkpoint}: it is a joint model of {families}")
    return family


def _check_fit(model: nn.Module, fmt: FieldFormat, n_input: int) -> None:
    """The format must feed the model the channels it was built for, from the windows the run read."""
    channels = {"in_channels": fmt.in_channels, "out_channels": fmt.out_channels}
    wrong = {k: (getattr(model.config, k), v) for k, v in channels.items() if getattr(model.config, k, v) != v}
    if wrong or fmt.n_input != n_input:
        raise ValueError(f"format {fmt} does not fit the model ({wrong}) or data.n_input = {n_input}")


def persistence_like(surrogate: Surrogate) -> Surrogate:
    """Persistence ("nothing changes") reading the same windows as ``surrogate``."""
    fmt = dataclasses.replace(surrogate.format, residual=False)
    model = build_model("persistence", PersistenceConfig(fmt.in_channels, fmt.out_channels, fmt.latest))
    return Surrogate(model.eval(), fmt, surrogate.data, seed=surrogate.seed)
