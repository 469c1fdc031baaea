"""What a model hears and sees besides the fields: descriptions as tokens, pictures of the setup.

A training run with ``modalities`` adds each trajectory's description and
rendered image to its samples (:class:`~physml.datasets.Modalities`) and trains
a digit-splitting tokenizer on the training split's descriptions; with
``modalities.parameters`` it also hands the model those physical parameters as
one vector, each standardised by its mean and spread over the training split.
:class:`Conditioning` turns a batch into the keyword arguments the model takes
(``text`` token ids, ``image``, ``parameters``), and travels inside the
checkpoint (tokenizer included, as JSON) so evaluation feeds a model exactly
what it was trained on.
Several models scored on one file may each have their own tokenizer: samples
carry the raw description and each :class:`Conditioning` tokenizes it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from physml.models.registry import config_fields
from physml.training.config import ModalityConfig, TrainConfig

if TYPE_CHECKING:  # tokenizers (~0.2 s) is imported only by runs that read text
    from physml.datasets import Camera, Modalities, Tokenizer, WindowDataset
    from physml.training.data import Source

__all__ = [
    "Conditioning",
    "data_params",
    "joint_params",
    "modality_transforms",
    "model_params",
    "train_conditioning",
]


@dataclass(frozen=True)
class Conditioning:
    """Text and image inputs of a model, read from batches.

    Parameters
    ----------
    tokenizer
        Tokenizer of the descriptions (``None``: the model takes no text).
    text_length
        Token context of the model: a longer description is an error, never truncated.
    image_size
        ``(H, W)`` of the model's images (``None``: it takes none).
    parameters
        Names of the per-trajectory parameters the model reads as a vector ``(B, P)``,
        as ``(value - shift) / scale`` with ``parameter_shift`` and ``parameter_scale``.
    camera
        Films each input window as the model's ``video`` (``None``: it watches none). The batch carries the camera,
        and :meth:`~physml.models.FieldFormat.predict` films the window it feeds the model.
    """

    tokenizer: Tokenizer | None = None
    text_length: int = 0
    image_size: tuple[int, int] | None = None
    parameters: tuple[str, ...] = ()
    parameter_shift: tuple[float, ...] = ()
    parameter_scale: tuple[float, ...] = ()
    camera: Camera | None = None

    @property
    def modalities(self) -> tuple[str, ...]:
        """The token modalities (text, image, video); the parameter vector is :attr:`parameters`."""
        given = {"text": self.tokenizer is not None, "image": bool(self.image_size), "video": self.camera is not None}
        return tuple(name for name, present in given.items() if present)

    def __call__(self, batch: Mapping[str, Any], device: torch.device | str) -> dict[str, torch.Tensor]:
        """``{"text": (B, text_length) ids, "image": (B, C, H, W), "camera"}`` for what this model takes and the
        batch has (the camera films the window where the fields are fed: :meth:`~physml.models.FieldFormat.predict`).

        A modality the model takes but the batch lacks is left out: the model then raises unless it was
        trained to do without it (``missing_ok``).
        """
        context = {}
        if self.tokenizer is not None and "text" in batch:
            texts = [batch["text"]] if isinstance(batch["text"], str) else list(batch["text"])
            ids = self.tokenizer.encode_batch(texts, length=self.text_length)  # (B, text_length), pads last
            # Pads are masked keys: dropping the columns that are pad in every row changes nothing but the cost.
            longest = int((ids != self.tokenizer.pad_id).sum(1).max())
            context["text"] = ids[:, : max(longest, 1)].to(device)
        if self.image_size is not None and "image" in batch:
            context["image"] = batch["image"].to(device)
        if self.camera is not None:
            context["camera"] = self.camera
        if self.parameters:
            values = torch.stack([batch["parameters"][n].double() for n in self.parameters], dim=1).to(device)
            shift, scale = (torch.tensor(v, dtype=torch.float64, device=device)
                            for v in (self.parameter_shift, self.parameter_scale))  # fmt: skip
            context["parameters"] = ((values - shift) / scale).float()  # (B, P)
        return context

    def to_dict(self) -> dict[str, Any]:
        """Plain values (``torch.load(weights_only=True)``-safe); :meth:`from_dict` rebuilds it."""
        return {
            "tokenizer": None if self.tokenizer is None else self.tokenizer.to_json(),
            "text_length": self.text_length,
            "image_size": None if self.image_size is None else list(self.image_size),
            "parameters": list(self.parameters),
            "parameter_shift": list(self.parameter_shift),
            "parameter_scale": list(self.parameter_scale),
            "camera": None if self.camera is None else self.camera.to_dict(),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> Conditioning:
        if not values:
            return cls()
        from physml.datasets import Camera, Tokenizer

        tokenizer, camera = values.get("tokenizer"), values.get("camera")
        size = values.get("image_size")
        return cls(
            None if tokenizer is None else Tokenizer.from_json(tokenizer),
            int(values.get("text_length", 0)),
            None if size is None else (int(size[0]), int(size[1])),
            tuple(values.get("parameters", ())),
            tuple(float(v) for v in values.get("parameter_shift", ())),
            tuple(float(v) for v in values.get("parameter_scale", ())),
            None if camera is None else Camera.from_dict(camera),
        )


def train_conditioning(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    config: ModalityConfig,
    *,
    seed: int,
    saved: Mapping[str, Any] | None = None,
) -> Conditioning:
    """The conditioning a run with ``config`` trains with: a tokenizer fitted on the training descriptions (of
    every file, for a joint run given several ``path``), the parameters' standardisation.

    A fine-tune passes ``saved``, the conditioning of the checkpoint it starts from: a model that learnt text
    keeps reading it with the tokenizer it learnt (a new one's token ids would mean other things), and one
    that learnt the same parameters keeps their standardisation.
    """
    from physml.datasets import Tokenizer, file_descriptions

    paths = [path] if isinstance(path, str | os.PathLike) else list(path)
    previous = Conditioning.from_dict(saved)
    tokenizer = None
    if config.text:
        tokenizer = previous.tokenizer
        if tokenizer is None:
            texts = [
                t for p in paths for t in file_descriptions(p, split="train", seed=seed, phrasings=config.phrasings)
            ]
            tokenizer = Tokenizer.train(texts, vocab_size=config.vocab_size)
        # Fail now, not mid-epoch: every phrasing of every split must fit the context ([BOS] and [EOS] too).
        for p in paths:
            every = file_descriptions(p, split=None, seed=seed, phrasings=config.phrasings)
            longest = max(len(tokenizer.encode(text)) + 2 for text in every)
            if longest > config.text_length:
                raise ValueError(
                    f"modalities.text_length = {config.text_length} is invalid for {p}: its descriptions take up "
                    f"to {longest} tokens; raise it"
                )
    if config.parameters and len(paths) > 1:
        raise ValueError(f"modalities.parameters = {list(config.parameters)} is invalid for a joint run: each "
                         "family has its own parameters")  # fmt: skip
    shift, scale = _parameter_statistics(paths[0], config.parameters)
    if config.parameters and previous.parameters == config.parameters:  # a fine-tune: the units it learnt
        shift, scale = previous.parameter_shift, previous.parameter_scale
    camera = None
    if config.video is not None:
        from physml.datasets import Camera

        camera = Camera.from_dict(config.video)
    return Conditioning(tokenizer, config.text_length if config.text else 0, config.image, config.parameters,
                        shift, scale, camera)  # fmt: skip


def _parameter_statistics(
    path: str | os.PathLike[str], names: tuple[str, ...]
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and standard deviation of each named per-trajectory parameter over the training split."""
    if not names:
        return (), ()
    import numpy as np

    from physml.datasets import read_info, read_parameters

    info = read_info(path)
    unknown = [n for n in names if n not in info.per_trajectory_parameters]
    if unknown:
        raise ValueError(
            f"modalities.parameters entry {unknown[0]!r} is invalid for {path}: choose from the per-trajectory "
            f"parameters {info.per_trajectory_parameters}"
        )
    rows = read_parameters(info)
    train = [i for i in range(info.n_trajectories) if info.completed[i] and info.splits[i] == "train"]
    shift, scale = [], []
    for name in names:
        values = [rows[i][name] for i in train]
        if not values or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            raise ValueError(f"modalities.parameters entry {name!r} is invalid: not a number in every training row")
        column = np.asarray(values, dtype=np.float64)
        shift.append(float(column.mean()))
        scale.append(float(column.std()) if column.std() > 0 else 1.0)
    return tuple(shift), tuple(scale)


def modality_transforms(
    path: str | os.PathLike[str], *, text: bool, image_size: tuple[int, int] | None, seed: int, vary: bool
) -> list[Modalities]:
    """The sample transforms adding descriptions (raw strings) and images to a file's windows, if any."""
    if not text and image_size is None:
        return []
    from physml.datasets import Modalities

    return [Modalities(path, text=text, image_size=image_size, seed=seed, vary=vary)]


def data_params(
    name: str, dataset: WindowDataset, conditioning: Conditioning, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Config values a model takes from the data: grid shape, time step, vocabulary, text context, image shape.

    Only for keys its config declares (a field-only model takes none); a value the run's config gives
    must agree with the data.
    """
    known = config_fields(name)
    if conditioning.modalities and "modalities" not in known:
        raise ValueError(
            f"modalities {list(conditioning.modalities)} are invalid for model {name!r}: it reads fields only "
            "(use multimodal_transformer, or leave modalities out)"
        )
    sample = dataset[0]
    derived: dict[str, Any] = {"field_size": tuple(sample["input_fields"].shape[2:])}
    derived["ndim"] = len(derived["field_size"])
    from physml.datasets.samples import WindowDataset  # (static datasets have no time step)

    if "time_scale" in known and isinstance(dataset, WindowDataset):  # one step: the save interval x time_stride
        derived |= {"time_scale": dataset.step_time, "n_input": dataset.n_input}
    if "modalities" in known:
        derived["modalities"] = conditioning.modalities
        if "missing_ok" in known and "missing_ok" not in params:  # trained to do without any of them
            derived["missing_ok"] = conditioning.modalities
    if conditioning.tokenizer is not None:
        derived |= {"vocab_size": conditioning.tokenizer.vocab_size, "text_length": conditioning.text_length}
    if conditioning.image_size is not None:
        derived |= {"image_channels": int(sample["image"].shape[0]), "image_size": tuple(conditioning.image_size)}
    if conditioning.camera is not None:  # the film of the input window: n_input RGB frames of the grid
        if len(derived["field_size"]) != 2 or not isinstance(dataset, WindowDataset):
            raise ValueError(f"modalities.video is invalid for {dataset.path}: a film is made of the windows of a "
                             f"2D field over time (its fields are {derived['field_size']})")  # fmt: skip
        derived |= {"video_channels": 3, "video_frames": dataset.n_input, "video_size": derived["field_size"]}
    if conditioning.parameters:
        if "parameter_dim" not in known:
            raise ValueError(
                f"modalities.parameters {list(conditioning.parameters)} is invalid for model {name!r}: it takes no "
                "parameter vector (use unet, or diffusion with the unet denoiser)"
            )
        derived["parameter_dim"] = len(conditioning.parameters)
    derived = {k: v for k, v in derived.items() if k in known}
    clashes = {k: (params[k], v) for k, v in derived.items() if k in params and _plain(params[k]) != _plain(v)}
    if clashes:
        detail = ", ".join(f"model.params.{k} = {g!r} but the data give {v!r}" for k, (g, v) in clashes.items())
        raise ValueError(f"{detail}: leave them out, they are filled in from the data")
    return derived


def model_params(config: TrainConfig, sources: Mapping[str, Source], conditioning: Conditioning) -> dict[str, Any]:
    """The config values of a run's model: ``model.params`` and what the data fill in (channels, grid,
    vocabulary...: :func:`data_params`, or :func:`joint_params` for a joint run)."""
    name, given = config.model.name, config.model.params
    if config.joint:
        return {**given, **joint_params(name, sources, conditioning, given)}
    (source,) = sources.values()
    fmt, known = source.format, config_fields(name)
    params = {**given, "in_channels": fmt.in_channels, "out_channels": fmt.out_channels}
    if "out_channels" not in known:  # a parameter estimator: it reads the fields (a static one: its image)
        if not conditioning.parameters:
            raise ValueError(f"modalities.parameters = [] is invalid for {name}: name the parameters it learns")
        params = {**given, "in_channels": fmt.in_channels if fmt.n_input else fmt.n_channels}
    params.update(data_params(name, source.train, conditioning, params))
    if name == "persistence":
        if config.model.residual:
            raise ValueError("model.residual = true is invalid for persistence: it copies the state itself")
        params["offset"] = source.format.latest
    return params


def joint_params(
    name: str, sources: Mapping[str, Source], conditioning: Conditioning, params: Mapping[str, Any]
) -> dict[str, Any]:
    """:func:`data_params` of a joint run's model: the families and, per family in that order, its channels,
    grid and picture channels; the text and image options once (one tokenizer, one picture size). A ``patch``
    given as ``{family: patch}`` becomes the list in that order (a family the run lacks is left out)."""
    if "families" not in config_fields(name):
        raise ValueError(f"model.name = {name!r} is invalid for a joint run (data names {len(sources)} datasets): "
                         "use multiphysics_transformer, which reads several families")  # fmt: skip
    each = {n: data_params("multimodal_transformer", s.train, conditioning, {}) for n, s in sources.items()}
    for family, derived in each.items():
        if len(derived["field_size"]) != 1:
            raise ValueError(f"data.{family} has fields of shape {derived['field_size']}: a joint run takes 1D "
                             "families")  # fmt: skip
    first = next(iter(each.values()))
    own = ("field_size", "image_channels", *(("missing_ok",) if "missing_ok" in params else ()))
    derived = {k: v for k, v in first.items() if k not in own}
    derived |= {
        "families": tuple(sources),
        "in_channels": tuple(s.format.in_channels for s in sources.values()),
        "out_channels": tuple(s.format.out_channels for s in sources.values()),
        "field_size": tuple(d["field_size"][0] for d in each.values()),
    }
    if conditioning.image_size is not None:
        derived["image_channels"] = tuple(d["image_channels"] for d in each.values())
    patch = params.get("patch")
    if patch is None or isinstance(patch, int):  # one patch for every family (a list is checked by the model)
        if patch is None:
            raise ValueError(f"model.params.patch is missing: give each family's, e.g. {dict.fromkeys(sources, 4)}")
        patch = dict.fromkeys(sources, patch)
    if isinstance(patch, Mapping):  # {family: patch}: in the order of this run's datasets
        missing = [family for family in sources if family not in patch]
        if missing:
            raise ValueError(f"model.params.patch = {dict(patch)} is invalid: give the patch of {missing} too")
        derived["patch"] = tuple(patch[family] for family in sources)
    clashes = {k: (params[k], v) for k, v in derived.items()
               if k in params and k != "patch" and _plain(params[k]) != _plain(v)}  # fmt: skip
    if clashes:
        detail = ", ".join(f"model.params.{k} = {g!r} but the data give {v!r}" for k, (g, v) in clashes.items())
        raise ValueError(f"{detail}: leave them out, they are filled in from the data")
    return derived


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value
