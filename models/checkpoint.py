"""Self-describing checkpoints: model name, config, code version and weights, loaded without pickle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from physml._version import __version__
from physml.models.registry import build_model, config_to_dict, model_name

__all__ = ["load_checkpoint", "save_checkpoint"]

FORMAT = "physml-checkpoint-1"


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, **extra: Any) -> Path:
    """Save ``model`` with what rebuilds it; ``extra`` (plain values or tensors) is stored alongside.

    Written to a temporary file and renamed, so an interrupted save never
    leaves a truncated checkpoint behind.
    """
    path = Path(path)
    payload = {
        "format": FORMAT,
        "physml_version": __version__,
        "model": model_name(model),
        "config": config_to_dict(model.config),
        "state_dict": model.state_dict(),
        "extra": extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(
    path: str | os.PathLike[str], *, device: torch.device | str = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved at ``path`` on ``device``; returns ``(model, extra)``.

    Uses ``torch.load(weights_only=True)``: a file carrying arbitrary Python
    objects is refused rather than executed.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        raise ValueError(f"checkpoint {path} cannot be loaded safely: {type(exc).__name__}: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a physml checkpoint (format {FORMAT})")
    model = build_model(payload["model"], payload["config"])
    model.load_state_dict(payload["state_dict"])
    return model.to(device), payload["extra"]
