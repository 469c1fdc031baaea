"""Surrogate models: neural operators (one of them group-equivariant), an equivariant CNN, a U-Net, a multimodal
transformer (also one across physics families) and its GRU, LSTM, state-space and mixture-of-experts variants,
diffusion, neural ODEs, a parameter estimator (inverse prediction) and baselines behind one registry,
physics-constraint losses, self-describing checkpoints, and growth of a trained transformer into a larger one.

Every forward model maps ``(B, C_in, *space) -> (B, C_out, *space)`` (the multimodal transformer also takes
keyword-only ``text`` and ``image``) and is built from its config dataclass (:func:`build_model`), so
configs name models and checkpoints rebuild them (:func:`save_checkpoint`, :func:`load_checkpoint`).
"""

from physml.models.attention import Attention, RMSNorm, RotaryEmbedding, SwiGLU
from physml.models.baselines import Persistence, PersistenceConfig, ResNet, ResNetConfig
from physml.models.checkpoint import load_checkpoint, save_checkpoint
from physml.models.complex_fno import ComplexFNO, ComplexFNOConfig
from physml.models.diffusion import Diffusion, DiffusionConfig
from physml.models.equivariant import EquivariantCNN, EquivariantCNNConfig
from physml.models.estimator import EstimatorConfig, ParameterEstimator
from physml.models.fno import FNO, FNOConfig
from physml.models.formatting import FieldFormat
from physml.models.group_fno import GroupFNO, GroupFNOConfig
from physml.models.growth import grow, load_into
from physml.models.multimodal import MultimodalConfig, MultimodalTransformer
from physml.models.multiphysics import MultiphysicsConfig, MultiphysicsTransformer
from physml.models.neural_ode import HamiltonianODE, HamiltonianODEConfig, NeuralODE, NeuralODEConfig
from physml.models.physics import CONSTRAINTS, SchrodingerContext, register_constraint
from physml.models.registry import MODELS, build_model, config_from_dict, config_to_dict, register_model
from physml.models.sequence import (
    GRUConfig,
    GRUModel,
    LSTMConfig,
    LSTMModel,
    MoEConfig,
    MoETransformer,
    SSMConfig,
    SSMModel,
)
from physml.models.spectral_conv import SpectralConv
from physml.models.unet import UNet, UNetConfig

__all__ = [
    "CONSTRAINTS",
    "FNO",
    "MODELS",
    "Attention",
    "ComplexFNO",
    "ComplexFNOConfig",
    "Diffusion",
    "DiffusionConfig",
    "EquivariantCNN",
    "EquivariantCNNConfig",
    "EstimatorConfig",
    "FNOConfig",
    "FieldFormat",
    "GRUConfig",
    "GRUModel",
    "GroupFNO",
    "GroupFNOConfig",
    "HamiltonianODE",
    "HamiltonianODEConfig",
    "LSTMConfig",
    "LSTMModel",
    "MoEConfig",
    "MoETransformer",
    "MultimodalConfig",
    "MultimodalTransformer",
    "MultiphysicsConfig",
    "MultiphysicsTransformer",
    "NeuralODE",
    "NeuralODEConfig",
    "ParameterEstimator",
    "Persistence",
    "PersistenceConfig",
    "RMSNorm",
    "ResNet",
    "ResNetConfig",
    "RotaryEmbedding",
    "SSMConfig",
    "SSMModel",
    "SchrodingerContext",
    "SpectralConv",
    "SwiGLU",
    "UNet",
    "UNetConfig",
    "build_model",
    "config_from_dict",
    "config_to_dict",
    "grow",
    "load_checkpoint",
    "load_into",
    "register_constraint",
    "register_model",
    "save_checkpoint",
]
