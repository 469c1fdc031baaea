"""Films of fields: the frames a camera would record of a simulation, for models that learn from video.

People bring recordings, not arrays: frames of a rendered simulation, 8 bits a colour. :class:`Camera` makes
such frames from a window of fields, exactly as a plot of them would look: one channel through a matplotlib
colour map between fixed ``limits`` (values beyond them clip), quantised to the map's ``levels`` colours, each
colour component rounded to 8 bits. A model that watches these frames (``video`` in
:class:`~physml.models.MultimodalConfig`) sees what a viewer of the film sees, and loses what the film loses:
everything outside the limits, the steps between colours, and the sign and scale that only the colour bar gives.

The camera renders inside the training and evaluation pipeline (:meth:`physml.models.FieldFormat.predict` films
each window it feeds a model, so a rollout films the model's own predictions), in the units the fields are read
in: with ``normalize: rms`` limits of ``[-3, 3]`` clip at three times the field's rms.

Examples
--------
>>> camera = Camera(channel=0, colormap="RdBu_r", limits=(-1.0, 1.0))
>>> frames = camera(torch.zeros(2, 3, 1, 8, 8))  # (B, T, C, H, W) fields -> (B, T, 3, H, W) RGB
>>> tuple(frames.shape), float(frames.min()) >= 0.0, float(frames.max()) <= 1.0
((2, 3, 3, 8, 8), True, True)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

__all__ = ["Camera"]


@dataclass(frozen=True)
class Camera:
    """Renders channel ``channel`` of fields ``(B, T, C, H, W)`` as RGB frames ``(B, T, 3, H, W)`` in [0, 1].

    ``colormap``: a matplotlib colour map by name (a diverging one, ``RdBu_r``, for a signed field);
    ``limits``: the values at its two ends; ``levels``: the colours it is cut into (256: an 8-bit palette).
    """

    channel: int = 0
    colormap: str = "RdBu_r"
    limits: tuple[float, float] = (-3.0, 3.0)
    levels: int = 256
    palette: torch.Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from matplotlib import colormaps  # (only runs that film their fields pay for matplotlib)

        if isinstance(self.channel, bool) or not isinstance(self.channel, int) or self.channel < 0:
            raise ValueError(f"video.channel = {self.channel!r} is invalid: must be an int >= 0 (a field channel)")
        if self.colormap not in colormaps:
            raise ValueError(f"video.colormap = {self.colormap!r} is invalid: must name a matplotlib colour map, "
                             "e.g. RdBu_r, viridis, inferno")  # fmt: skip
        limits = tuple(float(v) for v in self.limits)
        if len(limits) != 2 or not all(np.isfinite(limits)) or not limits[0] < limits[1]:
            raise ValueError(f"video.limits = {self.limits!r} is invalid: must be [low, high], finite, low < high")
        if isinstance(self.levels, bool) or not isinstance(self.levels, int) or not 2 <= self.levels <= 256:
            raise ValueError(f"video.levels = {self.levels!r} is invalid: must be an int in 2 .. 256")
        colours = colormaps[self.colormap](np.linspace(0.0, 1.0, self.levels))[:, :3]  # (levels, RGB) in [0, 1]
        palette = torch.from_numpy(np.round(colours * 255) / 255).float()  # 8 bits a component
        object.__setattr__(self, "limits", limits)
        object.__setattr__(self, "palette", palette)

    def __call__(self, fields: torch.Tensor) -> torch.Tensor:
        """Frames ``(B, T, 3, H, W)``, float32 in [0, 1], of ``fields`` ``(B, T, C, H, W)``."""
        if fields.ndim != 5 or not 0 <= self.channel < fields.shape[2]:
            raise ValueError(f"fields of shape {tuple(fields.shape)} are invalid for this camera: must be (B, T, C, "
                             f"H, W) with C > channel = {self.channel}")  # fmt: skip
        low, high = self.limits
        values = fields[:, :, self.channel].detach().double()  # (B, T, H, W)
        index = ((values - low) / (high - low) * (self.levels - 1)).round().clamp(0, self.levels - 1).long()
        frames = self.palette.to(fields.device)[index]  # (B, T, H, W) -> (B, T, H, W, 3)
        return frames.permute(0, 1, 4, 2, 3).contiguous()  # -> (B, T, 3, H, W)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (checkpoints, configs); ``Camera.from_dict`` rebuilds it."""
        return {"channel": self.channel, "colormap": self.colormap, "limits": list(self.limits), "levels": self.levels}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Camera:
        unknown = sorted(set(values) - {"channel", "colormap", "limits", "levels"})
        if unknown:
            raise ValueError(f"video options {unknown} are unknown: the camera takes channel, colormap, limits, levels")
        return cls(**{k: tuple(v) if k == "limits" else v for k, v in values.items()})
