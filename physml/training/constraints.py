"""Physics terms in training: turn a batch and a prediction into the fields a family's constraints take.

Each family that offers constraints registers an adapter here; the trainer asks
for the adapter of the dataset's family and never looks inside. A config naming
a term its family cannot compute fails when the trainer starts, naming the
family's terms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from physml.models.physics import CONSTRAINTS, SchrodingerContext, constraints_for, energy
from physml.models.physics_collapse import CollapseContext
from physml.models.physics_near_horizon import WaveContext

__all__ = [
    "ADAPTERS",
    "CollapseAdapter",
    "NearHorizonAdapter",
    "SchrodingerAdapter",
    "constraint_adapter",
    "invariants_adapter",
    "physics_terms",
    "rollout_constraints",
]


def _family(dataset: Any) -> str:
    return dataset.info.family or dataset.info.dataset_name


def _check_names(dataset: Any, names: Sequence[str]) -> None:
    """``ValueError`` naming the terms ``dataset``'s family cannot compute, and the ones it can."""
    family = _family(dataset)
    valid = constraints_for(family)
    unknown = sorted(set(names) - set(valid))
    if unknown:
        offer = f"choose data or one of {valid}" if valid else "it has no physics losses: use data only"
        raise ValueError(f"losses {unknown} are invalid for family {family!r}: {offer}")


def _constant(dataset: Any, batch: dict[str, Any], index: int) -> torch.Tensor:
    """Constant field ``index`` of a batch in physical units, ``(B, *space)``."""
    constant = batch["constant_fields"].double()
    if dataset.constant_normalization is not None:
        constant = dataset.constant_normalization.denormalize(constant, channel_dim=1)
    return constant[:, index]


class _Adapter:
    """What every family's adapter shares: the training call (each named term, mean over the batch)."""

    names: list[str]

    def terms(self, batch: dict[str, Any], prediction: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def __call__(self, batch: dict[str, Any], prediction: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each named term (mean over the batch) for the first predicted step."""
        return {name: value.mean().float() for name, value in self.terms(batch, prediction, self.names).items()}


class SchrodingerAdapter(_Adapter):
    """Complex ``psi`` (physical units) from the ``psi_real``/``psi_imag`` channels, ``V`` from the constants."""

    def __init__(self, dataset: Any, names: Sequence[str]) -> None:
        _check_names(dataset, names)
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
        params = batch["parameters"]
        return SchrodingerContext(
            potential=_constant(self.dataset, batch, self.potential),
            dt=(batch["output_time"][:, 0] - batch["input_time"][:, -1]).double(),
            lengths=self.dataset.lengths,
            hbar=params["hbar"].double() if "hbar" in params else 1.0,
            mass=params["mass"].double() if "mass" in params else 1.0,
        )

    def terms(self, batch: dict[str, Any], prediction: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        """Each of ``names`` per sample, ``(B,)``, between the last input state and ``prediction``."""
        context = self.context(batch)
        psi0 = self._psi(batch["input_fields"][:, -1])
        psi1 = self._psi(prediction)
        return {name: CONSTRAINTS[name](psi0, psi1, context) for name in names}

    def invariants(self, batch: dict[str, Any], state: torch.Tensor) -> dict[str, torch.Tensor]:
        """The conserved quantities of normalised states ``(B, C, *space)``: ``norm`` and ``energy``, ``(B,)`` each."""
        context, psi = self.context(batch), self._psi(state)
        density = psi.abs() ** 2
        return {"norm": density.flatten(1).sum(1) * context.cell_volume, "energy": energy(psi, context)}


class NearHorizonAdapter(_Adapter):
    """``psi`` (physical units) at ``t - Δt``, ``t`` (the last two inputs) and ``t + Δt`` (the prediction), ``V``
    from the constants: the wave equation's terms need three time levels (``n_input >= 2``)."""

    def __init__(self, dataset: Any, names: Sequence[str]) -> None:
        _check_names(dataset, names)
        channels, constants = list(dataset.channel_names), list(dataset.constant_channel_names)
        if "psi" not in channels or "potential" not in constants or list(dataset.axes) != ["r_star"]:
            raise ValueError(
                "near-horizon physics losses need psi on a 1D r_star grid among the fields and potential among the "
                f"constant fields; this run has fields {channels} and constant fields {constants}"
            )
        if names and dataset.n_input < 2:
            raise ValueError(
                f"n_input = {dataset.n_input} is invalid for losses {list(names)}: the wave equation's terms need "
                "the two states before the prediction (n_input >= 2)"
            )
        self.dataset, self.names = dataset, list(names)
        self.psi, self.potential = channels.index("psi"), constants.index("potential")
        r_star = dataset.axes["r_star"]
        self.dr = float(r_star[1] - r_star[0])

    def _psi(self, fields: torch.Tensor, channel_dim: int) -> torch.Tensor:
        return self.dataset.denormalize(fields.double(), channel_dim=channel_dim).select(channel_dim, self.psi)

    def terms(self, batch: dict[str, Any], prediction: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        """Each of ``names`` per sample, ``(B,)``, on the last two inputs and ``prediction``."""
        dt = float(batch["output_time"][0, 0] - batch["input_time"][0, -1])
        context = WaveContext(potential=_constant(self.dataset, batch, self.potential), dt=dt, dr=self.dr)
        state = self._psi(batch["input_fields"][:, -2:], channel_dim=2)  # (B, 2, n)
        psi = self._psi(prediction, channel_dim=1)
        return {name: CONSTRAINTS[name](state, psi, context) for name in names}


class CollapseAdapter(_Adapter):
    """The predicted ``a``, ``alpha``, ``Phi``, ``Pi`` (physical units) on the stored radii."""

    NEEDS = ("a", "alpha", "Phi", "Pi")

    def __init__(self, dataset: Any, names: Sequence[str]) -> None:
        _check_names(dataset, names)
        channels = list(dataset.channel_names)
        if not set(self.NEEDS) <= set(channels) or list(dataset.axes) != ["r"]:
            raise ValueError(f"collapse physics losses need {list(self.NEEDS)} on the radial grid r among the "
                             f"fields; this run has {channels}")  # fmt: skip
        self.dataset, self.names = dataset, list(names)
        self.context = CollapseContext(torch.as_tensor(dataset.axes["r"], dtype=torch.float64),
                                       {name: channels.index(name) for name in self.NEEDS})  # fmt: skip

    def terms(self, batch: dict[str, Any], prediction: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        """Each of ``names`` per sample, ``(B,)``, on ``prediction`` (the constraints hold on every slice).

        Samples whose last input state is forming a horizon (compactness ``2m/r = 1 - 1/a²`` at or above the
        simulator's ``FORMING``) score 0: there the stored grid no longer resolves the collapse (the
        simulator's own states violate both constraints by O(1)), and a held final state is not a solution.
        """
        from physml.simulators.collapse.detection import FORMING

        fields = self.dataset.denormalize(prediction.double(), channel_dim=1)
        context = CollapseContext(self.context.r.to(fields.device), self.context.channels)
        state = self.dataset.denormalize(batch["input_fields"][:, -1].double(), channel_dim=1).to(fields.device)
        calm = ((1 - 1 / context.field(state, "a") ** 2).amax(-1) < FORMING).to(fields.dtype)
        return {name: CONSTRAINTS[name](None, fields, context) * calm for name in names}


#: Adapters by dataset family.
ADAPTERS: dict[str, Callable[[Any, Sequence[str]], Callable[..., dict[str, torch.Tensor]]]] = {
    "schrodinger": SchrodingerAdapter,
    "near_horizon": NearHorizonAdapter,
    "collapse": CollapseAdapter,
}


def constraint_adapter(dataset: Any, names: Sequence[str]) -> Callable[..., dict[str, torch.Tensor]] | None:
    """The adapter computing physics terms ``names`` for ``dataset``'s family (``None`` when there are none)."""
    if not names:
        return None
    _check_names(dataset, names)
    return ADAPTERS[_family(dataset)](dataset, names)


def physics_terms(sources: Mapping[str, Any], names: Sequence[str]) -> dict[str, Callable[..., Any] | None]:
    """Each dataset's adapter (:func:`constraint_adapter`) by name. One dataset computes every term named; in a
    joint run each computes the terms its family defines, and a term no family defines is refused."""
    if len(sources) == 1:
        return {name: constraint_adapter(source.train, names) for name, source in sources.items()}
    mine = {name: [n for n in names if n in constraints_for(_family(s.train))] for name, s in sources.items()}
    orphans = sorted(set(names) - {n for terms in mine.values() for n in terms})
    if orphans:
        offer = {name: constraints_for(_family(s.train)) for name, s in sources.items()}
        raise ValueError(f"losses {orphans} are invalid: no dataset of this joint run defines them ({offer})")
    return {name: constraint_adapter(s.train, mine[name]) for name, s in sources.items()}


def invariants_adapter(dataset: Any) -> Any | None:
    """An adapter whose ``invariants(batch, state)`` gives ``dataset``'s conserved quantities, if its family has one.

    ``None`` for families without an adapter, or when the run's channels cannot
    express them (e.g. the potential withheld from the model).
    """
    family = _family(dataset)
    if family not in ADAPTERS or not hasattr(ADAPTERS[family], "invariants"):
        return None
    try:
        return ADAPTERS[family](dataset, [])
    except ValueError:
        return None


def rollout_constraints(dataset: Any) -> Callable[[dict[str, Any], torch.Tensor], dict[str, torch.Tensor]] | None:
    """Every constraint term of ``dataset``'s family along a rollout, or ``None`` when it has none it can compute.

    The returned callable takes a batch and normalised states ``(B, steps, C, *space)`` that follow its input
    window, and gives each term per sample and step, ``(B, steps)``: step ``s`` is scored with the
    ``n_input`` states before it (inputs, then earlier predictions) as its window.
    """
    family = _family(dataset)
    names = constraints_for(family)
    if not names or family not in ADAPTERS:
        return None
    try:
        adapter = ADAPTERS[family](dataset, names)
    except ValueError:  # the run's channels cannot express them (e.g. the potential withheld)
        return None

    def along(batch: dict[str, Any], states: torch.Tensor) -> dict[str, torch.Tensor]:
        n_input = batch["input_fields"].shape[1]
        sequence = torch.cat([batch["input_fields"].to(states), states], dim=1)
        times = torch.cat([batch["input_time"], batch["output_time"]], dim=1)
        out: dict[str, list[torch.Tensor]] = {name: [] for name in names}
        for step in range(states.shape[1]):
            window = {**batch, "input_fields": sequence[:, step : step + n_input],
                      "input_time": times[:, step : step + n_input],
                      "output_time": times[:, step + n_input : step + n_input + 1]}  # fmt: skip
            for name, value in adapter.terms(window, sequence[:, step + n_input], names).items():
                out[name].append(value)
        return {name: torch.stack(values, dim=1) for name, values in out.items()}

    return along
