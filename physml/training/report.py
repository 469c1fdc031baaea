"""The evaluation report: ``metrics.json``, the figures (:mod:`physml.plots.evaluation`) and ``report.md``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["constraint_terms", "summary_table", "write_report"]


def constraint_terms(rollout: dict[str, Any]) -> list[str]:
    """The physics-constraint terms a model's rollout metrics carry (``constraint_<name>_per_step``)."""
    return [k.removeprefix("constraint_").removesuffix("_per_step") for k in rollout
            if k.startswith("constraint_") and not k.startswith("constraint_truth_")]  # fmt: skip


def summary_table(metrics: dict[str, Any]) -> str:
    """A Markdown table: one row per model, one-step and rollout errors and drift."""
    timed = "simulator_seconds_per_trajectory" in metrics
    drift = [k.removesuffix("_drift_max") for k in next(iter(metrics["models"].values()))["rollout"]
             if k.endswith("_drift_max")]  # fmt: skip
    header = ["model", "one-step nRMSE", "one-step VRMSE", "low / mid / high band error",
              f"rollout nRMSE (step {metrics['rollout_steps']})", "steps with correlation > 0.8",
              "steps with nRMSE < 0.5", "gain over persistence", *(f"max {name} drift" for name in drift),
              *(["ms per trajectory", "speed-up over the simulator"] if timed else [])]  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for label, m in metrics["models"].items():
        one, roll = m["one_step"], m["rollout"]
        cells = [label, f"{one['nrmse']:.3g}", f"{one['vrmse']:.3g}",
                 f"{one['low']:.2g} / {one['mid']:.2g} / {one['high']:.2g}", f"{roll['nrmse_final']:.3g}",
                 f"{roll['steps_correlation_above_0.8']:.1f}", f"{roll['steps_nrmse_below_0.5']:.1f}",
                 f"{metrics['gain_over_persistence'][label]:.1f}x",
                 *(f"{roll[f'{name}_drift_max']:.2g}" for name in drift)]  # fmt: skip
        if timed:
            speed = roll.get("speedup_over_simulator")
            cells += [f"{1e3 * roll['seconds_per_trajectory']:.1f}", "-" if speed is None else f"{speed:.1f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    fates = {label: m["rollout"] for label, m in metrics["models"].items() if "fate_accuracy" in m["rollout"]}
    if fates:
        first = next(iter(fates.values()))
        lines += ["", f"Fate from the rollout (black hole when the peak compactness 2m/r reaches "
                  f"{first['fate_threshold']}), against the stored flag; {first['fate_black_holes']} of "
                  f"{len(first['fate_black_hole_stored'])} trajectories form one. The same rule on the simulator's "
                  f"own states: {100 * first['fate_rule_on_simulator_accuracy']:.0f} % right.", "",
                  "| model | fate right |", "| --- | --- |"]  # fmt: skip
        lines += [f"| {label} | {100 * r['fate_accuracy']:.0f} % |" for label, r in fates.items()]
    if timed:
        lines += ["", f"Simulator: {1e3 * metrics['simulator_seconds_per_trajectory']:.1f} ms per trajectory over the "
                  f"same {metrics.get('rollout_saves', metrics['rollout_steps'])} saves, one after another; models: "
                  f"{metrics['rollout_steps']}-step rollouts of "
                  f"{metrics['rollout_batch']} trajectories at a time."]  # fmt: skip
    ensembles = {label: m["ensemble"] for label, m in metrics["models"].items() if "ensemble" in m}
    if ensembles:
        lines += ["", "| model | samples | spread | skill (RMSE of the mean) | spread / skill | CRPS / RMS |",
                  "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for label, e in ensembles.items():
            lines.append(f"| {label} | {e['samples']} | {e['spread']:.3g} | {e['skill']:.3g} | "
                         f"{e['spread_skill_ratio']:.2f} | {e['crps_relative']:.3g} |")  # fmt: skip
    return "\n".join(lines)


def write_report(out: Path, metrics: dict[str, Any], examples: dict[str, Any], *, channels: Sequence[str]) -> None:
    """Write ``metrics.json``, ``rollout_error.png``, ``drift.png``, ``constraints.png`` (the family's physics
    terms along the rollouts), ``spacetime.png``, ``spectra.png`` (1D) and ``report.md`` to ``out`` (figures:
    :mod:`physml.plots.evaluation`)."""
    from physml.plots.evaluation import plot_constraints, plot_drift, plot_rollout_error, plot_spacetime, plot_spectra

    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    models = metrics["models"]
    plot_rollout_error(metrics, out / "rollout_error.png")
    invariants = [k.removesuffix("_drift_per_step") for k in next(iter(models.values()))["rollout"]
                  if k.endswith("_drift_per_step")]  # fmt: skip
    if invariants:
        plot_drift(metrics, invariants, out / "drift.png")
    figures = ["rollout_error.png", *(["drift.png"] if invariants else [])]
    terms = constraint_terms(next(iter(models.values()))["rollout"])
    if terms:
        plot_constraints(metrics, terms, out / "constraints.png")
        figures.append("constraints.png")
    label = next(iter(models))
    example = examples[label]
    if example["truth"].ndim == 3:  # 1D fields (steps, C, X): space-time diagrams and spectra
        plot_spacetime(example["truth"][:, 0], example["prediction"][:, 0], label, channels[0], out / "spacetime.png")
        predictions = {name: ex["prediction"][-1] for name, ex in examples.items()}
        plot_spectra(example["truth"][-1], predictions, metrics["rollout_steps"], out / "spectra.png")
        figures += ["spacetime.png", "spectra.png"]

    lines = [
        "# Evaluation report",
        "",
        f"Data `{metrics['data']}`, split `{metrics['split']}`, rollouts of {metrics['rollout_steps']} steps; "
        "errors on physical (denormalised) fields.",
        "",
        summary_table(metrics),
        "",
        *(f"![{name}]({name})" for name in figures),
        "",
    ]
    (out / "report.md").write_text("\n".join(lines))
