"""Training and evaluating surrogate models: configs from dataclasses and YAML, a resumable trainer, evaluation."""

from physml.training.config import (
    DataConfig,
    ModelSpec,
    OptimConfig,
    TrainConfig,
    load_train_config,
    train_config_from_dict,
)
from physml.training.evaluate import Surrogate, evaluate_checkpoints, load_surrogate
from physml.training.trainer import Trainer, field_format, resolve_device

__all__ = [
    "DataConfig",
    "ModelSpec",
    "OptimConfig",
    "Surrogate",
    "TrainConfig",
    "Trainer",
    "evaluate_checkpoints",
    "field_format",
    "load_surrogate",
    "load_train_config",
    "resolve_device",
    "train_config_from_dict",
]
