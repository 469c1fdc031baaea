"""Training and evaluating surrogate models: configs from dataclasses and YAML, a resumable trainer, evaluation."""

from physml.training.config import (
    DataConfig,
    ModelSpec,
    OptimConfig,
    TrainConfig,
    load_train_config,
    train_config_from_dict,
)
from physml.training.data import field_format, training_samples
from physml.training.evaluate import evaluate_checkpoints
from physml.training.surrogate import Surrogate, load_surrogate
from physml.training.trainer import Trainer, resolve_device

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
    "training_samples",
]
