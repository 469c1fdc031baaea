"""Training surrogate models: configs built from dataclasses and YAML, and a resumable trainer."""

from physml.training.config import (
    DataConfig,
    ModelSpec,
    OptimConfig,
    TrainConfig,
    load_train_config,
    train_config_from_dict,
)
from physml.training.trainer import Trainer, resolve_device

__all__ = [
    "DataConfig",
    "ModelSpec",
    "OptimConfig",
    "TrainConfig",
    "Trainer",
    "load_train_config",
    "resolve_device",
    "train_config_from_dict",
]
