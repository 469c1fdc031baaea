"""Evaluate trained surrogates against persistence: one-step and rollout errors, conservation drift, a report.

All errors are computed on physical (denormalised) fields of a held-out split.
Every model is rolled out from the same windows, so their numbers compare.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from physml.datasets.samples import WindowDataset
from physml.datasets.symmetry import Orient, check_square
from physml.models.metrics import band_errors, correlation, crps, first_below, nrmse, spread_skill, vrmse
from physml.models.registry import model_name
from physml.training.conditioning import modality_transforms
from physml.training.constraints import invariants_adapter, rollout_constraints
from physml.training.fate import rollout_fate
from physml.training.payoff import clock, simulator_seconds
from physml.training.surrogate import Surrogate, load_surrogate, persistence_like
from physml.training.trainer import resolve_device

__all__ = ["DEFAULT_ROLLOUT", "Surrogate", "evaluate_checkpoints", "load_surrogate", "one_step_errors"]

#: Rollout steps evaluated when none are asked for (fewer when the file's trajectories are shorter).
DEFAULT_ROLLOUT = 20
#: Trajectories rolled out together (and timed together: the surrogate's cost per trajectory at this batch).
ROLLOUT_BATCH = 16


def _to(device: torch.device, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
    constant = batch.get("constant_fields")
    return batch["input_fields"].to(device), None if constant is None else constant.to(device)


@torch.no_grad()
def one_step_errors(surrogate: Surrogate, dataset: WindowDataset, device: torch.device) -> dict[str, float]:
    rows: dict[str, list[torch.Tensor]] = {"nrmse": [], "vrmse": [], "low": [], "mid": [], "high": []}
    for batch in DataLoader(dataset, batch_size=64):
        prediction = surrogate.format.predict(surrogate.model, *_to(device, batch), surrogate.context(batch)).cpu()
        truth = dataset.denormalize(batch["output_fields"][:, 0].double(), channel_dim=1)
        prediction = dataset.denormalize(prediction.double(), channel_dim=1)
        rows["nrmse"].append(nrmse(prediction, truth).mean(1))
        rows["vrmse"].append(vrmse(prediction, truth).mean(1))
        for band, error in band_errors(prediction, truth).items():
            rows[band].append(error.mean(1))
    return {name: float(torch.cat(values).mean()) for name, values in rows.items()}


@torch.no_grad()
def _rollout(surrogate: Surrogate, dataset: WindowDataset, steps: int, device: torch.device) -> dict[str, Any]:
    """nRMSE per rollout step, drift of the conserved quantities, the family's constraint terms along the rollout,
    and the first trajectory for plots."""
    physics = invariants_adapter(dataset)
    constraints = rollout_constraints(dataset)
    errors: list[torch.Tensor] = []
    correlations: list[torch.Tensor] = []
    drifts: dict[str, list[torch.Tensor]] = {}
    violations: dict[str, list[torch.Tensor]] = {}
    fate = rollout_fate(dataset)
    fates: dict[str, list[torch.Tensor]] = {"peak": [], "peak_truth": [], "stored": []}
    example = None
    seconds = 0.0
    loader = DataLoader(dataset, batch_size=ROLLOUT_BATCH)
    warm = next(iter(loader))  # one untimed step first: the first call allocates and plans
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):  # leaves the seeded draws alone
        surrogate.format.rollout(surrogate.model, *_to(device, warm), 1, surrogate.context(warm))
    for batch in loader:
        fields, constant = _to(device, batch)
        start = clock(device)
        predicted = surrogate.format.rollout(surrogate.model, fields, constant, steps, surrogate.context(batch))
        seconds += clock(device) - start
        predicted = predicted.cpu().double()
        truth = dataset.denormalize(batch["output_fields"].double())
        errors.append(torch.stack([nrmse(dataset.denormalize(predicted[:, s]), truth[:, s]).mean(1)
                                   for s in range(steps)], dim=1))  # fmt: skip
        correlations.append(torch.stack([correlation(dataset.denormalize(predicted[:, s]), truth[:, s])
                                         for s in range(steps)], dim=1))  # fmt: skip
        if physics is not None:  # relative drift of each invariant from the last input state, (B, steps)
            start = physics.invariants(batch, batch["input_fields"][:, -1].double())
            along = [physics.invariants(batch, predicted[:, s]) for s in range(steps)]
            for name, value in start.items():
                scale = value.abs().clamp(min=1e-12)
                drift = torch.stack([(a[name] - value).abs() / scale for a in along], dim=1)
                drifts.setdefault(name, []).append(drift)
        if constraints is not None:  # (B, steps) per term
            for name, value in constraints(batch, predicted).items():
                violations.setdefault(name, []).append(value)
        if fate is not None:  # the peak compactness a rollout and the simulator reach, and the stored fate
            fates["peak"].append(fate.peak(predicted))
            fates["peak_truth"].append(fate.peak(batch["output_fields"]))
            fates["stored"].append(fate.stored(batch, steps))
        if example is None:
            example = {"truth": truth[0].numpy(), "prediction": dataset.denormalize(predicted[0]).numpy()}
    errors_all, correlations_all = torch.cat(errors), torch.cat(correlations)  # (trajectories, steps)
    per_step = errors_all.mean(0)
    result: dict[str, Any] = {"nrmse_per_step": per_step.tolist(), "nrmse_final": float(per_step[-1])}
    result["seconds_per_trajectory"] = seconds / len(errors_all)
    # Stability, per trajectory then averaged; a trajectory that never crosses counts the whole horizon.
    result["correlation_per_step"] = correlations_all.mean(0).tolist()
    result["steps_correlation_above_0.8"] = float(first_below(correlations_all, 0.8).double().mean())
    result["steps_nrmse_below_0.5"] = float(first_below(-errors_all, -0.5).double().mean())
    for name, values in drifts.items():
        drift = torch.cat(values)
        result[f"{name}_drift_per_step"] = drift.mean(0).tolist()
        result[f"{name}_drift_final_mean"] = float(drift[:, -1].mean())
        result[f"{name}_drift_max"] = float(drift.max())
    for name, values in violations.items():  # constraint terms along the rollout, mean over trajectories
        result[f"constraint_{name}_per_step"] = torch.cat(values).mean(0).tolist()
    if fate is not None:
        result |= fate.summary(fates)
    result["example"] = example
    return result


@torch.no_grad()
def _simulator_constraints(dataset: WindowDataset) -> dict[str, list[float]]:
    """The family's constraint terms on the simulator's own states along the rollout windows: one yardstick,
    computed once, that every model's report carries beside its own."""
    constraints = rollout_constraints(dataset)
    if constraints is None:
        return {}
    values: dict[str, list[torch.Tensor]] = {}
    for batch in DataLoader(dataset, batch_size=16):
        for name, value in constraints(batch, batch["output_fields"].double()).items():
            values.setdefault(name, []).append(value)
    return {f"constraint_truth_{name}_per_step": torch.cat(v).mean(0).tolist() for name, v in values.items()}


@torch.no_grad()
def _ensemble(surrogate: Surrogate, dataset: WindowDataset, samples: int, device: torch.device) -> dict[str, float]:
    """Spread, skill, spread-skill ratio and CRPS of ``samples`` one-step predictions per window (physical units)."""
    rows: dict[str, list[torch.Tensor]] = {"spread": [], "skill": [], "crps": [], "scale": []}
    for batch in DataLoader(dataset, batch_size=16):
        fields, constant = _to(device, batch)
        context = surrogate.context(batch)
        members = [surrogate.format.predict(surrogate.model, fields, constant, context).cpu() for _ in range(samples)]
        ensemble = dataset.denormalize(torch.stack(members).double(), channel_dim=2)  # (N, B, C, *space)
        truth = dataset.denormalize(batch["output_fields"][:, 0].double(), channel_dim=1)
        scores = spread_skill(ensemble, truth)
        rows["spread"].append(scores["spread"].mean(1))
        rows["skill"].append(scores["skill"].mean(1))
        rows["crps"].append(crps(ensemble, truth).mean(1))
        rows["scale"].append((truth**2).flatten(2).mean(2).sqrt().mean(1))
    means = {name: float(torch.cat(values).mean()) for name, values in rows.items()}
    return {
        "samples": samples,
        "spread": means["spread"],
        "skill": means["skill"],
        "spread_skill_ratio": means["spread"] / max(means["skill"], 1e-300),
        "crps": means["crps"],
        "crps_relative": means["crps"] / max(means["scale"], 1e-300),  # CRPS over the RMS of the true field
    }


def evaluate_checkpoints(
    checkpoints: Mapping[str, str | os.PathLike[str]] | Sequence[str | os.PathLike[str]],
    data_path: str | os.PathLike[str],
    *,
    split: str = "test",
    rollout: int | None = None,
    out: str | os.PathLike[str] | None = None,
    device: str = "auto",
    samples: int = 0,
    sampling: Mapping[str, Any] | None = None,
    seed: int = 0,
    trace: int = 0,
    orientation: str = "identity",
) -> dict[str, Any]:
    """Errors of trained models, and of persistence, on ``split`` of ``data_path``; speed against the simulator.

    Parameters
    ----------
    checkpoints
        ``physml train`` checkpoints, by label (a sequence is labelled by model
        name). The first one sets the windows (``n_input``) every model is scored on.
    rollout
        Autoregressive steps, 1 .. what the trajectories hold after the input window (more is an error);
        ``None``: :data:`DEFAULT_ROLLOUT`, or as many as the trajectories hold if fewer.
    out
        Directory for ``metrics.json``, the plots and ``report.md``; nothing is written when ``None``.
    samples
        For generative models (diffusion): draw this many one-step samples per window and score
        the ensemble (spread, skill, spread-skill ratio, CRPS); 0 or 1: none.
    sampling
        For generative models: ``sampler``, ``sample_steps``, ``guidance``, ``refinement_steps`` to sample
        with (see :meth:`~physml.models.Diffusion.configure_sampling`); the trained defaults otherwise.
    seed
        Seeds the random draws of generative models, each model from the same seed.
    trace
        Simulate this many of the split's trajectories again, over the rollouts' span, to time the
        simulator against each model's rollouts (:mod:`~physml.training.payoff`); 0: no timing.
    orientation
        Score on the split turned or reflected by one of the square grid's exact symmetries
        (:data:`~physml.datasets.symmetry.ORIENTATIONS`: ``rotate-90``, ``flip-x``...): every field of every
        window, potentials included. A model that learned the physics, not the training data's orientations,
        scores the same.

    Returns
    -------
    dict
        ``models``: per label, ``one_step`` (nRMSE, VRMSE, low/mid/high band
        errors) and ``rollout`` (nRMSE and correlation per step, steps until the
        correlation drops below 0.8 and until the nRMSE exceeds 0.5, norm/energy
        drift where the family defines them), and ``ensemble`` for generative models
        with ``samples``; ``gain_over_persistence``: persistence's one-step nRMSE over each model's;
        with ``trace``, ``simulator_seconds_per_trajectory`` and each rollout's ``speedup_over_simulator``.
    """
    if isinstance(trace, bool) or not isinstance(trace, int) or trace < 0:
        raise ValueError(f"trace = {trace!r} is invalid: must be an integer >= 0")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 0 <= samples <= 4096:
        raise ValueError(f"samples = {samples!r} is invalid: must be an integer 0 .. 4096")
    torch_device = resolve_device(device)
    if isinstance(checkpoints, Mapping):
        if "persistence" in checkpoints:
            raise ValueError("label 'persistence' is invalid: it names the baseline every evaluation adds")
        surrogates = {label: load_surrogate(path, device=torch_device, data=data_path)
                      for label, path in checkpoints.items()}  # fmt: skip
    else:  # each loaded once, labelled by its model's registered name
        loaded = [load_surrogate(path, device=torch_device, data=data_path) for path in checkpoints]
        labels = _labels([model_name(s.model) for s in loaded])
        surrogates, checkpoints = dict(zip(labels, loaded)), dict(zip(labels, checkpoints))
    if not surrogates:
        raise ValueError("checkpoints is empty: give at least one trained model")
    first = next(iter(surrogates.values()))
    surrogates["persistence"] = persistence_like(first)
    # One set of windows for all: with every description and image any of the models reads.
    transforms = _union_transforms(data_path, list(surrogates.values()))
    if orientation != "identity":  # (the name is checked here, the grid once the file is open)
        readers = [label for label, s in surrogates.items() if s.conditioning.modalities]
        if readers:
            raise ValueError(f"orientation = {orientation!r} is invalid for {readers}: they read descriptions, "
                             "images or parameters, which a turn of the fields would leave as they were")  # fmt: skip
        transforms = [*transforms, Orient(orientation)]
    one_step = first.windows(data_path, split=split, transforms=transforms)
    check_square(one_step.axes, orientation)
    if len(one_step) == 0:
        raise ValueError(f"{data_path} has no {split!r} windows to evaluate on")
    stride = one_step.time_stride  # a model's step spans its run's time_stride saves: all must agree
    strides = {label: s.data.get("time_stride", 1) for label, s in surrogates.items() if label != "persistence"}
    if len(set(strides.values())) > 1:
        raise ValueError(f"the models step different numbers of saves (data.time_stride {strides}): score them apart")
    available = (one_step.info.n_times - 1) // stride + 1 - first.data["n_input"]
    if rollout is not None and not 1 <= rollout <= available:
        every = f" taken every {stride} saves" if stride > 1 else ""
        raise ValueError(
            f"rollout = {rollout!r} is invalid: {data_path} holds {one_step.info.n_times} saves per trajectory{every}, "
            f"so after the {first.data['n_input']} input state(s) a rollout has 1 .. {available} steps"
        )
    steps = min(DEFAULT_ROLLOUT, available) if rollout is None else rollout
    rollouts = first.windows(
        data_path, split=split, n_output=steps, window_stride=one_step.info.n_times, transforms=transforms
    )
    metrics: dict[str, Any] = {
        "split": split,
        "data": str(data_path),
        "rollout_steps": steps,
        "rollout_saves": (first.data["n_input"] - 1 + steps) * stride + 1,  # the span, in the file's saves
        "rollout_batch": ROLLOUT_BATCH,
        "orientation": orientation,
        "models": {},
    }
    examples = {}
    generative = [label for label, s in surrogates.items() if getattr(s.model, "generative", False)]
    if not generative and (sampling or samples > 1):
        given = [
            *(f"{k} = {v!r}" for k, v in (sampling or {}).items()),
            *([f"samples = {samples}"] if samples > 1 else []),
        ]
        raise ValueError(f"{', '.join(given)} invalid here: none of the models is generative (diffusion)")
    for label in generative:
        surrogates[label].model.configure_sampling(**(sampling or {}))
        metrics.setdefault("sampling", {})[label] = dataclasses.asdict(surrogates[label].model.sampling)
    simulator = _simulator_constraints(rollouts)
    for label, surrogate in surrogates.items():
        surrogate.model.to(torch_device)
        torch.manual_seed(seed)
        result = {**_rollout(surrogate, rollouts, steps, torch_device), **simulator}
        examples[label] = result.pop("example")
        metrics["models"][label] = {
            "checkpoint": str(checkpoints[label]) if label in checkpoints else None,
            "one_step": one_step_errors(surrogate, one_step, torch_device),
            "rollout": result,
        }
        if label in generative and samples > 1:
            metrics["models"][label]["ensemble"] = _ensemble(surrogate, one_step, samples, torch_device)
    if trace > 0:
        chosen = [int(t) for t in rollouts.trajectories[:trace]]
        try:
            per_trajectory = simulator_seconds(data_path, chosen, metrics["rollout_saves"])
        except Exception as exc:  # the timing is extra: a simulator that fails loses no score
            metrics["simulator_timing_error"] = f"{type(exc).__name__}: {exc}"
        else:
            metrics["simulator_seconds_per_trajectory"] = per_trajectory
            for label, m in metrics["models"].items():
                if label != "persistence":  # copying a state costs nothing worth a ratio
                    m["rollout"]["speedup_over_simulator"] = per_trajectory / m["rollout"]["seconds_per_trajectory"]
    floor = metrics["models"]["persistence"]["one_step"]["nrmse"]
    metrics["gain_over_persistence"] = {
        label: floor / max(m["one_step"]["nrmse"], 1e-300) for label, m in metrics["models"].items()
    }
    if out is not None:
        from physml.training.report import write_report

        write_report(Path(out), metrics, examples, channels=one_step.channel_names)
    return metrics


def _union_transforms(data_path: str | os.PathLike[str], surrogates: Sequence[Surrogate]) -> list[Any]:
    """Sample transforms adding the descriptions and images that any of ``surrogates`` reads.

    Each trajectory reads as the phrasing drawn from the first model's seed (models trained with
    ``vary`` have seen every phrasing).
    """
    text = any(s.conditioning.tokenizer is not None for s in surrogates)
    sizes = {s.conditioning.image_size for s in surrogates} - {None}
    if len(sizes) > 1:
        raise ValueError(f"the models read images of different sizes {sorted(sizes)}: evaluate them separately")
    size = next(iter(sizes), None)
    return modality_transforms(data_path, text=text, image_size=size, seed=surrogates[0].seed, vary=False)


def _labels(names: Sequence[str]) -> list[str]:
    """Unique labels for model names: ``fno``, ``fno-2``, ... (``persistence`` is taken)."""
    labels: list[str] = []
    for name in names:
        label, n = name, 2
        while label in labels or label == "persistence":
            label, n = f"{name}-{n}", n + 1
        labels.append(label)
    return labels
