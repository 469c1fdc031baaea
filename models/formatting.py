"""From samples to model tensors and back: the only place that knows how a window becomes channels.

A :class:`~physml.datasets.WindowDataset` sample holds ``input_fields``
``(T, C, *space)`` and ``constant_fields`` ``(C_const, *space)``; models take
``(B, C_in, *space)``. :class:`FieldFormat` stacks the ``T`` input steps and the
static fields as channels, turns a model's output into the next state, and
rolls a model forward autoregressively (filming each window it feeds a model that watches video).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["FieldFormat"]


@dataclass(frozen=True)
class FieldFormat:
    """Channel layout ``[step 1 fields, ..., step n_input fields, constant fields]`` and how outputs are read.

    Parameters
    ----------
    n_input
        Past steps given to the model; 0 for a model that generates fields from its
        conditioning alone (text, parameters): it then reads no field channels.
    n_channels
        Time-varying channels per step (e.g. 2 for ``psi`` re/im); also the model's outputs.
    n_constant
        Static channels appended once (e.g. 1 for the potential; 0 to withhold it).
    residual
        The model predicts the increment over the latest input step, ``next = latest + model(x)``.
        Over one save interval a field changes by a fraction of itself, so the
        network spends its accuracy on the change rather than on copying the state.
    squash
        Per constant channel, a scale ``s``: the channel enters the model as
        ``asinh(c / s)`` (``0``: unchanged). A confining potential reaches
        hundreds of energy units at the box edge where the wave function
        vanishes, while the dynamics happen at a few units; ``asinh`` keeps
        ``c / s`` near zero and compresses the walls logarithmically.

    Examples
    --------
    >>> fmt = FieldFormat(n_input=2, n_channels=2, n_constant=1)
    >>> fmt.inputs(torch.zeros(8, 2, 2, 64), torch.zeros(8, 1, 64)).shape
    torch.Size([8, 5, 64])
    """

    n_input: int
    n_channels: int
    n_constant: int = 0
    residual: bool = False
    squash: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.n_input < 0:
            raise ValueError(f"FieldFormat.n_input = {self.n_input!r} is invalid: must be >= 0")
        if self.n_channels < 1:
            raise ValueError(f"FieldFormat.n_channels = {self.n_channels!r} is invalid: must be >= 1")
        if self.n_input == 0 and self.residual:
            raise ValueError("FieldFormat.residual = True is invalid with n_input = 0: there is no state to add to")
        if self.n_constant < 0:
            raise ValueError(f"FieldFormat.n_constant = {self.n_constant!r} is invalid: must be >= 0")
        object.__setattr__(self, "squash", tuple(float(s) for s in self.squash))
        if self.squash and (len(self.squash) != self.n_constant or min(self.squash) < 0):
            raise ValueError(
                f"FieldFormat.squash = {self.squash!r} is invalid: one scale >= 0 per constant channel "
                f"({self.n_constant})"
            )

    @property
    def in_channels(self) -> int:
        return self.n_input * self.n_channels + self.n_constant

    @property
    def out_channels(self) -> int:
        return self.n_channels

    @property
    def latest(self) -> int:
        """Offset of the latest input step's channels (what persistence copies)."""
        return (self.n_input - 1) * self.n_channels

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for checkpoints); ``FieldFormat(**d)`` rebuilds it."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def inputs(self, fields: torch.Tensor, constant: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, n_input, C, *space)`` and ``(B, n_constant, *space)`` -> ``(B, in_channels, *space)``."""
        if fields.shape[1:3] != (self.n_input, self.n_channels):
            raise ValueError(
                f"fields have {tuple(fields.shape[1:3])} (steps, channels); this format takes "
                f"({self.n_input}, {self.n_channels})"
            )
        stacked = fields.flatten(1, 2)  # (B, T, C, *space) -> (B, T*C, *space)
        if self.n_constant == 0:
            return stacked
        if constant is None or constant.shape[1] != self.n_constant:
            got = None if constant is None else constant.shape[1]
            raise ValueError(f"constant fields have {got} channels; this format takes {self.n_constant}")
        constant = constant.to(stacked.dtype)
        if self.squash:
            scale = torch.tensor(self.squash, dtype=constant.dtype, device=constant.device)
            scale = scale.view(1, -1, *([1] * (constant.ndim - 2)))  # (1, C_const, 1, ...)
            constant = torch.where(scale > 0, torch.asinh(constant / scale.clamp(min=1e-30)), constant)
        return torch.cat([stacked, constant], dim=1)

    def predict(
        self,
        model: nn.Module,
        fields: torch.Tensor,
        constant: torch.Tensor | None,
        context: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The next state ``(B, C, *space)`` predicted by ``model`` from a window ``(B, n_input, C, *space)``.

        ``context``: keyword inputs besides the fields (``text`` token ids, ``image``), passed as they are; a
        ``camera`` in it (:class:`~physml.datasets.Camera`) films the window, passed as ``video``
        ``(B, n_input, 3, *space)``: in a rollout, the film of the model's own predictions.
        """
        context = dict(context or {})
        camera = context.pop("camera", None)
        if camera is not None:
            context["video"] = camera(fields)
        out = model(self.inputs(fields, constant), **context)  # (B, C_in, *space) -> (B, C, *space)
        return self.state(fields, out)

    def state(self, fields: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The next state a model output ``(B, C, *space)`` stands for, given the window it read."""
        return fields[:, -1].to(out.dtype) + out if self.residual else out

    def target(self, fields: torch.Tensor, next_state: torch.Tensor) -> torch.Tensor:
        """What the model should output for ``next_state`` ``(B, C, *space)``: the inverse of :meth:`state`."""
        return next_state - fields[:, -1].to(next_state.dtype) if self.residual else next_state

    def advance(self, fields: torch.Tensor, prediction: torch.Tensor) -> torch.Tensor:
        """Drop the oldest step and append ``prediction`` ``(B, C, *space)``: the next input window."""
        return torch.cat([fields[:, 1:], prediction.unsqueeze(1).to(fields.dtype)], dim=1)  # (B, T, C, *space)

    def rollout(
        self,
        model: nn.Module,
        fields: torch.Tensor,
        constant: torch.Tensor | None,
        n_steps: int,
        context: Mapping[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Feed the model its own predictions ``n_steps`` times: ``(B, n_steps, C, *space)``.

        ``context`` (text, image) describes the whole trajectory: the same at every step.
        """
        if n_steps < 1:
            raise ValueError(f"n_steps = {n_steps!r} is invalid: must be >= 1")
        predictions = []
        for _ in range(n_steps):
            prediction = self.predict(model, fields, constant, context)
            predictions.append(prediction)
            fields = self.advance(fields, prediction)
        return torch.stack(predictions, dim=1)
