"""Score generators of static fields against the simulator: black-hole images, spacetime slices.

A model trained with ``data.n_input = 0`` (see :class:`~physml.datasets.StaticDataset`)
draws a trajectory's static fields from its conditioning alone (text, or the
parameter vector). :func:`evaluate_generators` scores each generated set of
fields against the stored one of the same held-out parameters with the
measures of the family's physics (:data:`SCORES`): the dark region's diameter
and centroid for black-hole images
(:class:`~physml.training.scores_bh_images.BlackHoleImageScores`), the horizon's
semi-axes and the Kretschmann peak for spacetime slices
(:class:`~physml.training.scores_spacetime.SpacetimeScores`). It also times
generation against the simulator making the same images on this machine, and
draws generated next to simulated images (``generated_vs_simulated.png``).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from physml.datasets.descriptions import read_parameters
from physml.datasets.samples import Normalization
from physml.datasets.static import StaticDataset
from physml.training.conditioning import modality_transforms
from physml.training.payoff import clock, simulator_seconds
from physml.training.surrogate import Surrogate, load_surrogate
from physml.training.trainer import resolve_device

__all__ = ["SCORES", "evaluate_generators", "generate"]

#: Images generated together (and timed together: the cost per image at this batch; 64 is the fastest on 2
#: CPU cores for the shipped 128^2 generator, docs/benchmarks.md).
GENERATION_BATCH = 64

#: Static family -> the class that scores its generated fields (imported when used).
SCORES = {
    "bh_images": "physml.training.scores_bh_images.BlackHoleImageScores",
    "spacetime": "physml.training.scores_spacetime.SpacetimeScores",
}


def static_samples(surrogate: Surrogate, path: str | os.PathLike[str], *, split: str | None) -> StaticDataset:
    """The static fields of ``path`` read the way ``surrogate`` was trained on (units, text, parameters)."""
    data, cond = surrogate.data, surrogate.conditioning
    norm = (surrogate.normalization or {}).get("fields")
    transforms = modality_transforms(
        path, text=cond.tokenizer is not None, image_size=cond.image_size, seed=surrogate.seed, vary=False
    )
    return StaticDataset(
        path, split=split, fields=data["fields"], log_fields=data.get("log_fields") or {},
        normalize=data["normalize"], normalization=None if norm is None else Normalization.from_dict(norm),
        transforms=transforms,
    )  # fmt: skip


@torch.no_grad()
def generate(surrogate: Surrogate, batch: Mapping[str, Any], *, seed: int) -> torch.Tensor:
    """Fields ``(B, C, *space)`` in model units drawn for a batch of :func:`static_samples` (seeded)."""
    device = next(iter(surrogate.model.parameters())).device
    x = surrogate.format.inputs(batch["input_fields"].to(device))  # (B, 0, *space): nothing but the condition
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return surrogate.model(x, **surrogate.context(batch)).float()


def _scores(family: str, axes: dict[str, np.ndarray]) -> Any:
    if family not in SCORES:
        raise ValueError(f"no generator scores for the {family!r} family: static families with scores are "
                         f"{sorted(SCORES)}")  # fmt: skip
    module, name = SCORES[family].rsplit(".", 1)
    return getattr(importlib.import_module(module), name)(axes)


def evaluate_generators(
    checkpoints: Mapping[str, str | os.PathLike[str]],
    data: str | os.PathLike[str],
    *,
    split: str = "test",
    out: str | os.PathLike[str],
    device: str = "auto",
    sampling: Mapping[str, Any] | None = None,
    seed: int = 0,
    trace: int = 8,
) -> dict[str, Any]:
    """Score each generator (label -> checkpoint) on ``split`` of ``data``; write ``metrics.json``, a figure, a report.

    ``sampling``: :meth:`~physml.models.diffusion.Diffusion.configure_sampling` settings. ``trace``:
    how many of the split's images to simulate again for the timing (0: no timing).
    """
    out = Path(out)
    dev = resolve_device(device)
    metrics: dict[str, Any] = {"data": str(data), "split": split, "models": {}}
    examples: dict[str, np.ndarray] = {}
    truth_images = None
    for label, checkpoint in checkpoints.items():
        surrogate = load_surrogate(checkpoint, device=dev)
        if surrogate.format.n_input != 0:
            raise ValueError(f"{checkpoint} predicts next states (data.n_input = {surrogate.format.n_input}): "
                             "score it with physml evaluate on a time-dependent file")  # fmt: skip
        model = surrogate.model
        if sampling and not hasattr(model, "configure_sampling"):
            raise ValueError(f"sampling options {sorted(sampling)} are invalid for {checkpoint}: it is not a "
                             "diffusion model")  # fmt: skip
        settings = model.configure_sampling(**(sampling or {})) if hasattr(model, "configure_sampling") else None
        dataset = static_samples(surrogate, data, split=split)
        scores = _scores(dataset.info.family, dataset.axes)
        missing = [n for n in scores.needs if n not in dataset.channel_names]
        if missing:
            raise ValueError(f"{checkpoint} does not generate {missing} of {data}: the {scores.family} scores "
                             f"need {list(scores.needs)}")  # fmt: skip
        parameters = read_parameters(dataset.info)
        if len(dataset) == 0:
            raise ValueError(f"{data} has no {split!r} images to score")
        loader = DataLoader(dataset, batch_size=GENERATION_BATCH)
        generate(surrogate, next(iter(loader)), seed=seed)  # untimed: the first call allocates what later reuse
        rows, generated, truths, seconds, done = [], [], [], 0.0, 0
        for i, batch in enumerate(loader):
            start = clock(dev)
            fields = generate(surrogate, batch, seed=seed * 1_000_003 + i)
            seconds += clock(dev) - start
            gen = dataset.physical(fields.cpu().double(), channel_dim=1).numpy()
            true = dataset.physical(batch["output_fields"][:, 0].double(), channel_dim=1).numpy()
            for g, t in zip(gen, true):
                params = parameters[int(dataset.trajectories[done])]
                rows.append(scores.score(dict(zip(dataset.channel_names, g)), dict(zip(dataset.channel_names, t)),
                                         params))  # fmt: skip
                done += 1
            shown = dataset.channel_names.index(scores.shown)
            generated.append(gen[:, shown])
            truths.append(true[:, shown])
        summary = scores.summary(rows)
        summary["seconds_per_image"] = seconds / max(len(rows), 1)
        metrics["models"][label] = {
            "checkpoint": str(checkpoint),
            "sampling": None if settings is None else dict(settings.__dict__),
            "summary": summary,
            "images": [{"trajectory": int(t), **r} for t, r in zip(dataset.trajectories, rows)],
        }
        examples[label] = np.concatenate(generated)
        truth_images = np.concatenate(truths)
    trajectories = [int(t) for t in dataset.trajectories]
    metrics["simulator"] = scores.simulator
    if trace > 0 and trajectories:
        per_image = simulator_seconds(data, trajectories[:trace], 1)  # the family's simulate: one image each
        metrics["simulator_seconds_per_image"] = per_image
        for m in metrics["models"].values():
            m["summary"]["speedup_over_simulator"] = per_image / m["summary"]["seconds_per_image"]
    metrics["device"] = str(dev)
    _write(out, metrics, scores, examples, truth_images, trajectories)
    return metrics


def _write(out: Path, metrics: dict[str, Any], scores: Any, examples: dict[str, np.ndarray], truth: np.ndarray | None,
           trajectories: list[int]) -> None:  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    figure = "generated_vs_simulated.png"
    if truth is not None and len(truth):
        scores.plot(truth, examples, trajectories, out / figure)
    header = ["model", "images", *scores.header, "ms per image", f"speed-up over {scores.simulator}"]
    lines = ["# Generated against simulated fields", "",
             f"Data `{metrics['data']}`, split `{metrics['split']}`, device {metrics['device']}; {scores.note}.", "",
             "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]  # fmt: skip
    for label, m in metrics["models"].items():
        s = m["summary"]
        speed = s.get("speedup_over_simulator")
        cells = [label, str(s["images"]), *scores.cells(s), f"{1e3 * s['seconds_per_image']:.1f}",
                 "-" if speed is None else f"{speed:.1f}x"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    if "simulator_seconds_per_image" in metrics:
        lines += ["", f"{scores.simulator.capitalize()}: {1e3 * metrics['simulator_seconds_per_image']:.1f} ms per "
                  "image on this machine."]  # fmt: skip
    lines += ["", f"![generated against simulated]({figure})", ""]
    (out / "report.md").write_text("\n".join(lines))
