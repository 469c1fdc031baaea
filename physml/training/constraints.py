"""Physics terms in training: turn a batch and a prediction into the fields a family's constraints take.

Each family that offers constraints registers an adapter here; the trainer asks
for the adapter of the dataset's family and never looks inside.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from physml.models.physics import CONSTRAINTS, SchrodingerContext, energy

__all__ = ["ADAPTERS", "SchrodingerAdapter", "constraint_adapter", "invariants_adapter"]


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

    def context(self, batch: dict[str, Any]) -> SchrodingerContext:
        """Potential (physical units), time step, box and constants of a batch."""
        constant = batch["constant_fields"].double()
        normalization = self.dataset.constant_normalization
        if normalization is not None:
            constant = normalization.denormalize(constant, channel_dim=1)
        params = batch["parameters"]
        return SchrodingerContext(
            potential=constant[:, self.potential],
            dt=(batch["output_time"][:, 0] - batch["input_time"][:, -1]).double(),
            lengths=self.dataset.lengths,
            hbar=params["hbar"].double() if "hbar" in params else 1.0,
            mass=params["mass"].double() if "mass" in params else 1.0,
        )

    def __call__(self, batch: dict[str, Any], prediction: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each named term (mean over the batch) for the first predicted step."""
        context = self.context(batch)
        psi0 = self._psi(batch["input_fields"][:, -1])
        psi1 = self._psi(prediction)
        return {name: CONSTRAINTS[name](psi0, psi1, context).mean().float() for name in self.names}

    def invariants(self, batch: dict[str, Any], state: torch.Tensor) -> dict[str, torch.Tensor]:
        """The conserved quantities of normalised states ``(B, C, *space)``: ``norm`` and ``energy``, ``(B,)`` each."""
        context, psi = self.context(batch), self._psi(state)
        density = psi.abs() ** 2
        return {"norm": density.flatten(1).sum(1) * context.cell_volume, "energy": energy(psi, context)}


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


def invariants_adapter(dataset: Any) -> Any | None:
    """An adapter whose ``invariants(batch, state)`` gives ``dataset``'s conserved quantities, if its family has one.

    ``None`` for families without an adapter, or when the run's channels cannot
    express them (e.g. the potential withheld from the model).
    """
    family = dataset.info.family or dataset.info.dataset_name
    if family not in ADAPTERS:
        return None
    try:
        return ADAPTERS[family](dataset, [])
    except ValueError:
        return None
