"""Training configuration: data, model, losses, optimiser and schedule, composed from dataclasses and YAML."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from physml.datasets.config import check_fraction, load_yaml, parse_split  # (load_yaml: YAML 1.2 floats, safe loader)

__all__ = [
    "DataConfig",
    "ModalityConfig",
    "ModelSpec",
    "OptimConfig",
    "TrainConfig",
    "load_train_config",
    "shipped_train_configs",
    "train_config_from_dict",
]


@dataclass(frozen=True)
class DataConfig:
    """Which file, which windows, how they are normalised and batched.

    ``in_memory`` reads the splits into RAM once (fast for datasets that fit;
    see :class:`~physml.datasets.WindowDataset`). ``n_input = 0`` generates a file's
    static fields from the conditioning alone (:class:`~physml.datasets.StaticDataset`,
    e.g. black-hole images from their descriptions); ``log_fields`` (field -> floor) then
    learns those fields as ``log10(max(field, floor))``. ``time_stride`` reads every
    ``time_stride``-th save (e.g. 2: train on every other save, withholding the ones between).
    ``weight``: in a joint run (``data`` naming several datasets), this dataset's share of the batches
    (:mod:`physml.training.mixture`); ``train_fraction``: the share of its training trajectories read.
    ``train_split``, ``val_split``: the splits it trains and validates on (``train``, ``val``), or parts of one,
    e.g. ``extrapolation[:0.5]`` to fine-tune to a held-out parameter range and ``extrapolation[0.5:0.75]`` to
    validate, keeping ``extrapolation[0.75:]`` to test on (``physml evaluate --split``).
    """

    path: str
    n_input: int = 1
    time_stride: int = 1
    fields: tuple[str, ...] | None = None
    constant_fields: tuple[str, ...] | None = None
    normalize: str | None = "rms"
    batch_size: int = 32
    num_workers: int = 0
    in_memory: bool = False
    log_fields: dict[str, float] = field(default_factory=dict)
    train_fraction: float = 1.0
    weight: float = 1.0
    train_split: str = "train"
    val_split: str = "val"

    def __post_init__(self) -> None:
        if not isinstance(self.path, str | os.PathLike) or not str(self.path):
            raise ValueError(f"data.path = {self.path!r} is invalid: must be a file path")
        for name, low in (("n_input", 0), ("time_stride", 1), ("batch_size", 1), ("num_workers", 0)):
            _integer(f"data.{name}", getattr(self, name), low)
        check_fraction(self.train_fraction, "data.train_fraction")
        for name in ("train_split", "val_split"):
            parse_split(getattr(self, name), f"data.{name}")
        _number("data.weight", self.weight, positive=False)
        for name in ("fields", "constant_fields"):
            names = getattr(self, name)
            if names is not None and not (isinstance(names, tuple) and all(isinstance(n, str) for n in names)):
                raise ValueError(f"data.{name} = {names!r} is invalid: must be a list of field names")
        if self.normalize not in (None, "zscore", "rms"):
            raise ValueError(f"data.normalize = {self.normalize!r} is invalid: choose null, zscore or rms")
        _boolean("data.in_memory", self.in_memory)
        if not isinstance(self.log_fields, Mapping):
            raise ValueError(f"data.log_fields = {self.log_fields!r} is invalid: a mapping of field name -> floor")
        for name, floor in self.log_fields.items():
            _number(f"data.log_fields.{name}", floor, positive=True)
        if self.log_fields and self.n_input != 0:
            raise ValueError(f"data.log_fields is invalid with n_input = {self.n_input}: it applies to n_input = 0")


@dataclass(frozen=True)
class ModelSpec:
    """A registered model by name and its config values; channel counts are filled in from the data.

    ``residual``: the model predicts the increment over the latest input step.
    ``squash``: constant fields by name, each with a scale ``s`` in physical
    units; the model sees ``asinh(c / s)`` (see :class:`~physml.models.FieldFormat`).
    """

    name: str = "fno"
    params: dict[str, Any] = field(default_factory=dict)
    residual: bool = False
    squash: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError(f"model.name = {self.name!r} is invalid: must be a registered model's name")
        for key in ("params", "squash"):
            value = getattr(self, key)
            if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
                raise ValueError(f"model.{key} = {value!r} is invalid: must be a mapping of names")
        _boolean("model.residual", self.residual)
        for name, scale in self.squash.items():
            if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
                raise ValueError(f"model.squash.{name} = {scale!r} is invalid: must be a number > 0")


@dataclass(frozen=True)
class ModalityConfig:
    """Descriptions and pictures given to the model besides the fields (see :mod:`physml.training.conditioning`).

    ``text``: each trajectory's description, tokenized by a byte-level BPE with one token per digit,
    trained on ``phrasings`` descriptions per training trajectory (``vocab_size`` tokens) and saved
    in the checkpoint; ``text_length`` is the model's token context. ``image``: ``[H, W]`` of the
    rendered setup (e.g. the potential). ``vary``: a new phrasing for every training sample
    (validation and evaluation read one fixed phrasing per trajectory). ``parameters``: names of
    per-trajectory parameters the model reads as one standardised vector (e.g. ``[spin, inclination]``).
    ``video``: film each input window and show the model the film (2D fields): the
    :class:`~physml.datasets.Camera` options, ``{channel, colormap, limits, levels}`` (limits in the units the
    fields are read in); ``model.params.read_fields: false`` then withholds the arrays themselves.
    """

    text: bool = False
    image: tuple[int, int] | None = None
    parameters: tuple[str, ...] = ()
    video: Mapping[str, Any] | None = None
    text_length: int = 256
    vocab_size: int = 512
    phrasings: int = 8
    vary: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.text, bool):
            raise ValueError(f"modalities.text = {self.text!r} is invalid: must be true or false")
        if isinstance(self.parameters, str) or not all(isinstance(n, str) for n in self.parameters):
            raise ValueError(f"modalities.parameters = {self.parameters!r} is invalid: must be a list of names")
        object.__setattr__(self, "parameters", tuple(self.parameters))
        if self.image is not None:
            size = tuple(self.image)
            if len(size) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 8 for v in size):
                raise ValueError(f"modalities.image = {self.image!r} is invalid: need [H, W], integers >= 8")
            object.__setattr__(self, "image", size)
        if self.video is not None:
            from physml.datasets.video import Camera

            if not isinstance(self.video, Mapping):
                raise ValueError(f"modalities.video = {self.video!r} is invalid: must be a mapping of camera options "
                                 "({channel, colormap, limits, levels}; {} for the defaults)")  # fmt: skip
            object.__setattr__(self, "video", Camera.from_dict(self.video).to_dict())  # checked, defaults filled in
        # A byte-level vocabulary starts from the 256 bytes and the special tokens.
        for name, low in (("text_length", 2), ("vocab_size", 260), ("phrasings", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"modalities.{name} = {value!r} is invalid: must be an integer >= {low}")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then cosine decay, and gradient clipping.

    ``freeze``: parameters held fixed, by the start of their names (``trunk`` is a multi-physics model's shared
    blocks; ``blocks.0`` the first block of a transformer), for the first ``freeze_steps`` steps (``None``: the
    whole run). Fine-tuning a pretrained trunk to a new family with ``freeze: [trunk]`` first trains the new
    embedding and head on a fixed trunk, so that their random start does not send large gradients into it
    (linear probing, then fine-tuning).
    """

    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    grad_clip: float = 1.0
    freeze: tuple[str, ...] = ()
    freeze_steps: int | None = None

    def __post_init__(self) -> None:
        _number("optim.lr", self.lr, positive=True)
        _number("optim.weight_decay", self.weight_decay, positive=False)
        _integer("optim.warmup_steps", self.warmup_steps, 0)
        _number("optim.grad_clip", self.grad_clip, positive=True)
        if isinstance(self.freeze, str) or not all(isinstance(n, str) and n for n in self.freeze):
            raise ValueError(f"optim.freeze = {self.freeze!r} is invalid: must be a list of parameter-name prefixes")
        object.__setattr__(self, "freeze", tuple(self.freeze))
        if self.freeze_steps is not None:
            _integer("optim.freeze_steps", self.freeze_steps, 1)
            if not self.freeze:
                raise ValueError(f"optim.freeze_steps = {self.freeze_steps} is invalid without optim.freeze: "
                                 "name the parameters to hold fixed")  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run.

    ``unroll`` > 1 trains on autoregressive rollouts of that many steps;
    ``pushforward`` then stops gradients through all but the last step
    (Brandstetter et al. 2022). ``input_noise`` = σ adds Gaussian noise of
    standard deviation σ (in normalised units) to the input states of every
    training step, not to the targets, so the model learns to pull a perturbed
    state back onto the solution, the error its own rollouts feed it
    (Sanchez-Gonzalez et al. 2020); validation sees clean inputs. ``losses``
    weights ``"data"`` (MSE on the normalised fields) and any registered physics
    constraint by name. The validation split is scored after every epoch and, with ``val_every`` > 0, every
    ``val_every`` steps too (``val.csv``; ``best.pt`` is the best of them).

    ``data`` is one dataset, or (a joint run) a mapping of names, e.g. the families, to datasets, trained
    together by one model that reads several families (``multiphysics_transformer``), each batch from one
    of them, in the proportions of their ``weight``; they share ``batch_size`` and ``num_workers``.
    """

    data: DataConfig | dict[str, DataConfig]
    model: ModelSpec = field(default_factory=ModelSpec)
    optim: OptimConfig = field(default_factory=OptimConfig)
    modalities: ModalityConfig = field(default_factory=ModalityConfig)
    losses: dict[str, float] = field(default_factory=lambda: {"data": 1.0})
    epochs: int = 10
    unroll: int = 1
    pushforward: bool = False
    input_noise: float = 0.0
    seed: int = 0
    device: str = "auto"
    checkpoint_every: int = 100
    val_every: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "unroll", "checkpoint_every"):
            _integer(name, getattr(self, name), 1)
        if self.joint:
            _check_joint(self.data)
        if not isinstance(self.losses, Mapping) or not self.losses:
            raise ValueError(f"losses = {self.losses!r} is invalid: give term weights, at least {{data: 1.0}}")
        for name, weight in self.losses.items():
            if not isinstance(name, str):
                raise ValueError(f"losses key {name!r} is invalid: must be a loss term name")
            _number(f"losses.{name}", weight, positive=False)
        _integer("seed", self.seed, 0)
        _integer("val_every", self.val_every, 0)
        _boolean("pushforward", self.pushforward)
        _number("input_noise", self.input_noise, positive=False)
        if not isinstance(self.device, str):
            raise ValueError(f"device = {self.device!r} is invalid: cpu, cuda, cuda:N or auto")

    @property
    def joint(self) -> bool:
        """Whether the run trains on several datasets at once."""
        return isinstance(self.data, Mapping)

    @property
    def datasets(self) -> dict[str, DataConfig]:
        """The datasets by name (one run on one dataset: its name is ``""``)."""
        return dict(self.data) if isinstance(self.data, Mapping) else {"": self.data}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_joint(data: Mapping[str, DataConfig]) -> None:
    if not data or not all(isinstance(name, str) and name.isidentifier() for name in data):
        raise ValueError(f"data names {list(data)} are invalid: a joint run names its datasets (identifiers)")
    for key in ("batch_size", "num_workers"):
        values = {name: getattr(d, key) for name, d in data.items()}
        if len(set(values.values())) > 1:
            raise ValueError(f"data.*.{key} = {values} is invalid: the datasets of a joint run share one {key}")
    if sum(d.weight for d in data.values()) <= 0:
        weights = {name: d.weight for name, d in data.items()}
        raise ValueError(f"data.*.weight = {weights} is invalid: one at least must be > 0")


def _dataset(name: str, values: Any) -> DataConfig:
    """One dataset of a joint run; its messages name it (``data.<name>.weight``, not ``data.weight``)."""
    try:
        return _build(DataConfig, values, f"data.{name}")
    except ValueError as exc:
        message = str(exc)
        raise ValueError(
            message if message.startswith(f"data.{name}") else message.replace("data.", f"data.{name}.", 1)
        ) from None


def _integer(where: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{where} = {value!r} is invalid: must be an integer >= {low}")


def _number(where: str, value: Any, *, positive: bool) -> None:
    """A finite real number, > 0 (``positive``) or >= 0."""
    ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        raise ValueError(f"{where} = {value!r} is invalid: must be a finite number {'>' if positive else '>='} 0")


def _boolean(where: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{where} = {value!r} is invalid: must be true or false")


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    if not isinstance(values, Mapping):
        raise ValueError(f"{where} = {values!r} is invalid: must be a mapping")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"{where} keys {unknown} are invalid: valid keys are {sorted(known)}")
    required = [f.name for f in dataclasses.fields(cls) if f.default is f.default_factory is dataclasses.MISSING]
    missing = [name for name in required if name not in values]
    if missing:
        raise ValueError(f"{where} is missing {', '.join(missing)}")
    return cls(**{k: tuple(v) if isinstance(v, list) and k in ("fields", "constant_fields") else v
                  for k, v in values.items()})  # fmt: skip


def train_config_from_dict(raw: Mapping[str, Any]) -> TrainConfig:
    """A :class:`TrainConfig` from plain values (e.g. YAML); unknown keys are errors naming the valid ones."""
    raw = dict(raw)
    if "data" not in raw:
        raise ValueError("training config is missing 'data'")
    data = raw.pop("data")
    if isinstance(data, Mapping) and "path" not in data and data and all(isinstance(v, Mapping) for v in data.values()):
        data = {name: _dataset(name, values) for name, values in data.items()}  # a joint run
    else:
        data = _build(DataConfig, data, "data")
    parts = {
        "data": data,
        "model": _build(ModelSpec, raw.pop("model", {}), "model"),
        "optim": _build(OptimConfig, raw.pop("optim", {}), "optim"),
        "modalities": _build(ModalityConfig, raw.pop("modalities", {}), "modalities"),
    }
    return _build(TrainConfig, {**raw, **parts}, "training config")


def shipped_train_configs() -> dict[str, str]:
    """Shipped training config names -> their first comment line."""
    found = {}
    for entry in sorted(resources.files("physml.training").joinpath("configs").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            first = entry.read_text().splitlines()[0]
            found[entry.name.removesuffix(".yaml")] = first.lstrip("# ").strip()
    return found


def load_train_config(name_or_path: str | os.PathLike[str]) -> TrainConfig:
    """A shipped training config by name (:func:`shipped_train_configs`) or a YAML file by path."""
    text, path = str(name_or_path), Path(name_or_path)
    if text in shipped_train_configs():
        source = resources.files("physml.training").joinpath("configs", f"{text}.yaml").read_text()
    elif path.is_file():
        source = path.read_text()
    else:
        raise ValueError(
            f"training config {text!r} is neither a file nor a shipped config ({', '.join(shipped_train_configs())})"
        )
    try:
        raw = load_yaml(source)
    except yaml.YAMLError as exc:
        raise ValueError(f"training config {text!r} is not valid YAML: {exc}") from None
    return train_config_from_dict(raw or {})
