"""Physics terms in training: turn a batch and a prediction into the fields a family's constraints take.

Each family that offers constraints registers an adapter here; the trainer asks
for the adapter of the dataset's family and never looks inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from physml.models.physics import CONSTRAINTS, SchrodingerContext

__all__ = ["ADAPTERS", "SchrodingerAdapter", "constraint_adapter"]


class SchrodingerAdapter:
    """Complex ``psi`` (physical units) from the ``psi_real``/``psi_imag`` channels, ``V`` from the constants."""

    def __init__(self, dataset: Any, names: Sequence[str]) -> None:
        unknown = sorted(set(names) - set(CONSTRAINTS))
        if unknown:
            raise ValueError(f"losses {unknown} are invalid: choose data or one of {sorted(CONSTRAINTS)}")
        channels, constants = list(dataset.channel_names), list(dataset.constant_channel_names)
        if not {"psi_real", "psi_imag"} <= set(channels) or "potential" not in constants:
            raise ValueError(
                "Schrödinger physics losses need psi_real, psi_imag among the fields and potential among the "
                f"constant fields; this run has fields {channels} and constant fields {constants}"
            )
        self.dataset, self.names = dataset, list(names)
        self.real, self.imag = channels.index("psi_real"), channels.index("psi_imag")
        self.potential = constants.index("potential")

    def _psi(self, fields: torch.Tensor) -> torch.Tensor:
        physical = self.dataset.denormalize(fields.double(), channel_dim=1)  # (B, C, *space)
        return torch.complex(physical[:, self.real], physical[:, self.imag])

    def __call__(self, batch: dict[str, Any], prediction: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each named term (mean over the batch) for the first predicted step."""
        constant = batch["constant_fields"].double()
        normalization = self.dataset.constant_normalization
        if normalization is not None:
            constant = normalization.denormalize(constant, channel_dim=1)
        params = batch["parameters"]
        context = SchrodingerContext(
            potential=constant[:, self.potential],
            dt=(batch["output_time"][:, 0] - batch["input_time"][:, -1]).double(),
            lengths=self.dataset.lengths,
            hbar=params["hbar"].double() if "hbar" in params else 1.0,
            mass=params["mass"].double() if "mass" in params else 1.0,
        )
        psi0 = self._psi(batch["input_fields"][:, -1])
        psi1 = self._psi(prediction)
        return {name: CONSTRAINTS[name](psi0, psi1, context).mean().float() for name in self.names}


#: Adapters by dataset family.
ADAPTERS: dict[str, Callable[[Any, Sequence[str]], Callable[..., dict[str, torch.Tensor]]]] = {
    "schrodinger": SchrodingerAdapter
}


def constraint_adapter(dataset: Any, names: Sequence[str]) -> Callable[..., dict[str, torch.Tensor]] | None:
    """The adapter computing physics terms ``names`` for ``dataset``'s family (``None`` when there are none)."""
    if not names:
        return None
    family = dataset.info.family or dataset.info.dataset_name
    if family not in ADAPTERS:
        raise ValueError(f"physics losses {list(names)} are not available for family {family!r}")
    return ADAPTERS[family](dataset, names)
