"""What a rollout says about a trajectory's end: does a collapsing scalar field form a black hole?

The simulator decides a ``collapse`` trajectory's fate with events it checks
after every time step (:mod:`physml.simulators.collapse.run`) and stores it as
the scalar ``black_hole`` (1 from the save of the event on). A surrogate only
has the saved states, so its rollout is classified by the peak compactness
``2m/r = 1 - 1/a²`` it reaches: a black hole if it passes the simulator's
:data:`~physml.simulators.collapse.detection.FORMING` (0.6), where the
simulator itself counts a horizon as forming. :class:`CollapseFate` also
scores the simulator's own stored states with that rule, so the report shows
that the rule, not the surrogate, is right on every trajectory (or where not).
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np
import torch

__all__ = ["CollapseFate", "rollout_fate"]


class CollapseFate:
    """Peak compactness along state sequences, and the stored fate at a rollout's last save."""

    def __init__(self, dataset: Any, flags: np.ndarray) -> None:
        from physml.simulators.collapse.detection import FORMING

        self.dataset, self.threshold, self.flags = dataset, FORMING, flags  # flags: (trajectories, saves)
        self.a = list(dataset.channel_names).index("a")

    def peak(self, states: torch.Tensor) -> torch.Tensor:
        """``(B,)`` largest ``1 - 1/a²`` over steps and radii of normalised states ``(B, steps, C, r)``."""
        a = self.dataset.denormalize(states.double())[:, :, self.a]
        return (1 - 1 / a.clamp(min=1e-6) ** 2).flatten(1).amax(1)

    def stored(self, batch: dict[str, Any], steps: int) -> torch.Tensor:
        """``(B,)`` the stored ``black_hole`` flag at the save the rollout ends on."""
        n_input = batch["input_fields"].shape[1]
        end = batch["start"].numpy() + n_input - 1 + steps
        return torch.as_tensor(self.flags[batch["trajectory"].numpy(), end])

    def summary(self, fates: dict[str, list[torch.Tensor]]) -> dict[str, Any]:
        """Black hole or dispersal from each rollout's peak compactness (``fates["peak"]``), against the stored
        flag (``fates["stored"]``); the same rule on the simulator's states (``fates["peak_truth"]``)."""
        peak, truth, stored = (torch.cat(fates[k]) for k in ("peak", "peak_truth", "stored"))
        return {
            "fate_threshold": self.threshold,
            "fate_peak_compactness": peak.tolist(),
            "fate_black_hole_stored": stored.tolist(),
            "fate_accuracy": float(((peak >= self.threshold) == stored).double().mean()),
            "fate_black_holes": int(stored.sum()),
            "fate_rule_on_simulator_accuracy": float(((truth >= self.threshold) == stored).double().mean()),
        }


def rollout_fate(dataset: Any) -> CollapseFate | None:
    """A :class:`CollapseFate` for a ``collapse`` file that has ``a`` among its channels and stores the flag."""
    family = dataset.info.family or dataset.info.dataset_name
    if family != "collapse" or "a" not in dataset.channel_names:
        return None
    with h5py.File(dataset.path, "r") as f:
        if "black_hole" not in f.get("scalars", {}):
            return None
        return CollapseFate(dataset, np.asarray(f["scalars"]["black_hole"][...]) > 0)
