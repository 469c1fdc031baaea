"""Self-describing checkpoints: model name, config, code version and weights, loaded without pickle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from physml._version import __version__
from physml.durable import atomic_path
from physml.models.registry import build_model, config_to_dict, model_name, model_shell

__all__ = ["load_checkpoint", "mismatched", "save_checkpoint"]

FORMAT = "physml-checkpoint-1"


def save_checkpoint(path: str | os.PathLike[str], model: nn.Module, **extra: Any) -> Path:
    """Save ``model`` with what rebuilds it; ``extra`` (plain values or tensors) is stored alongside.

    Written to a temporary file, flushed to the disk and renamed (the rename
    flushed too): neither a killed process nor a power loss leaves a truncated
    checkpoint behind; the file holds the previous checkpoint or this one.
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
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_checkpoint(
    path: str | os.PathLike[str], *, device: torch.device | str = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved at ``path`` on ``device``; returns ``(model, extra)``.

    Uses ``torch.load(weights_only=True)``: a file carrying arbitrary Python
    objects is refused rather than executed. The model is first built on the
    ``meta`` device (no memory) and its tensor shapes compared with the saved
    weights, so a damaged or edited config can neither allocate without bound
    nor load mismatched weights: every such file raises ``ValueError`` naming it.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError... for bad files
        raise ValueError(f"checkpoint {path} cannot be loaded safely: {type(exc).__name__}: {exc}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a physml checkpoint (format {FORMAT})")
    try:
        model = _rebuild(payload)
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError, OverflowError) as exc:
        raise ValueError(f"checkpoint {path} is damaged or was edited: {type(exc).__name__}: {exc}") from None
    extra = payload.get("extra", {})
    if not isinstance(extra, dict):
        raise ValueError(f"checkpoint {path} is damaged or was edited: 'extra' is a {type(extra).__name__}")
    return model.to(device), extra


def _rebuild(payload: dict[str, Any]) -> nn.Module:
    """The saved model with its weights, built for real only once its shapes match them."""
    name, config, weights = payload["model"], payload["config"], payload["state_dict"]
    if not isinstance(name, str) or not isinstance(config, dict) or not isinstance(weights, dict):
        raise TypeError("model, config and state_dict must be a name, a mapping and a mapping of tensors")
    shell = model_shell(name, config).state_dict()
    detail = mismatched(weights, shell, shown=5)
    if detail:
        raise ValueError(f"the weights do not fit the {name} its config builds (saved vs built: {detail})")
    model = build_model(name, config)
    model.load_state_dict(weights)
    return model


def mismatched(saved: dict[str, Any], wanted: dict[str, Any], *, shown: int = 6) -> str:
    """The weights whose shapes differ between two state dicts, as ``name: (saved) vs (wanted)`` (empty if none)."""
    shapes = [{k: tuple(v.shape) if torch.is_tensor(v) else type(v).__name__ for k, v in d.items()}
              for d in (saved, wanted)]  # fmt: skip
    wrong = sorted(k for k in shapes[0].keys() | shapes[1].keys() if shapes[0].get(k) != shapes[1].get(k))
    listed = [f"{k}: {shapes[0].get(k, 'missing')} vs {shapes[1].get(k, 'missing')}" for k in wrong[:shown]]
    return ", ".join(listed) + (f" and {len(wrong) - shown} more" if len(wrong) > shown else "")
