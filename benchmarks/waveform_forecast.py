"""Task (b) of the architecture study: forecasting near-horizon waveforms from 1k to 16k samples of context.

    python benchmarks/waveform_forecast.py --out runs/waveform-forecast [--contexts 1024 4096 16384] \\
        [--archs transformer linear-attention lstm ssm] [--seeds 0 1 2] [--budget 1e5] [--steps 2000] \\
        [--lrs 1e-3 3e-3 1e-2] [--trajectories 48 8 12] [--jobs 2] [--plot forecast.png] [--pushforward K]

The data: a stream of Gaussian shells falling into a Schwarzschild hole, one series per hole (mass in [0.8, 1.5],
field and multipole as in ``near-horizon-1d``: s = 0, 1, 2, Regge-Wheeler or Zerilli). Shells pass an observer at
r* = 100 M every 100-500 M (widths 1.5-4 M, amplitudes ±0.5-1.5) and scatter off the barrier. The series is ψ at
r* = -20 M (near the horizon), 10 M (the barrier) and 100 M (far), every 0.2 M, from the double-null integrator
run once on the whole train of shells (``pulse_train``; h = 0.2 M, or 0.1 M where the barrier needs it):
16 384 + 512 samples. The last shell hits the barrier 0-10 M before sample 16 384, and none follows: the next
512 samples (102 M) hold its ringing at r* = 10 M, the transmitted wave at -20 M (30 M later) and the reflected
wave at 100 M (90 M later, 450 samples after it left). All of it is fixed by the past; a long context also holds
the earlier shells, that is, how this hole rings.

The task: causal next-patch prediction (patches of 16 samples, so 1k-16k samples are 64-1024 tokens; every model
is the ``causal: true`` form of its registered model, sized to ``--budget`` weights, 4 blocks), trained on random
windows of ``context`` samples of the training series for ``--steps`` steps at a batch of ``2 * 16384 / context``
windows: every run sees the same number of samples (equal data, not equal time; the seconds are reported). The
learning rate per architecture is the best of ``--lrs`` by validation loss at the shortest context, seed 0.

``--pushforward K`` makes the objective rollout-aware: each step, the model first re-predicts the window from its own
predictions k times (k drawn from 0..K; no gradient), so that the patch at position i is read through a k-deep chain
of its own errors, as in a rollout, and it learns to predict the true next patch from those. It costs k extra
forward passes a step. Its runs are reported as ``arch+pushforwardK``.

Scored on the held-out test series: the 512-sample forecast from the context that ends at sample 16 384
(autoregressive: see ``forecast``), its error per channel over the first 20 M, 40 M (the ringing) and 102 M: the
rms error over the truth's rms over all 102 M, pooled over the test series ("nRMSE"); the one-step
(teacher-forced) nRMSE over the forecast's samples; persistence (the last sample held) and zero for scale. A run
whose loss turns non-finite is reported as diverged.

Each run is a child process with one thread (``--jobs`` at a time), which logs its progress to its folder's
stderr.log and saves its state every ``CHECKPOINT_EVERY`` steps; its scores go to its folder's scores.json. An
interrupted study resumes where it stopped, a run from its last saved step with the same result as if never stopped.
Writes ``--out``/results.json and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import h5py
import numpy as np
import torch
from _report import machine, markdown_table, merged_json, nearest_width
from _shell_streams import DT, HORIZON, LONGEST, N_SAMPLES, PATCH, SPLITS, build, load
from _waveform_scores import WINDOWS, baselines, forecast, score

from physml.durable import atomic_path
from physml.models import build_model
from physml.models.checkpoint import load_checkpoint, save_checkpoint
from physml.models.registry import model_shell
from physml.progress import progress

WINDOWS_PER_STEP = 2 * LONGEST  # samples per training step, at every context
CHECKPOINT_EVERY = 100  # steps between the saved states (checkpoint.pt) an interrupted run resumes from
#: Architecture: registered model and its options (all causal, 1D, fields only).
ARCHITECTURES: dict[str, tuple[str, dict]] = {
    "transformer": ("multimodal_transformer", {}),
    "linear-attention": ("multimodal_transformer", {"attention": "linear"}),
    "gru": ("gru", {"bidirectional": False}),
    "lstm": ("lstm", {"bidirectional": False}),
    "ssm": ("ssm", {"bidirectional": False}),
}


# -- models and training ---------------------------------------------------------------------------------------
def params(arch: str, context: int, dim: int) -> dict:
    common = {"in_channels": 3, "out_channels": 3, "field_size": [context], "patch": PATCH, "depth": 4, "dim": dim,
              "n_heads": 4, "n_kv_heads": 2, "modalities": [], "missing_ok": [], "causal": True}  # fmt: skip
    return {**common, **ARCHITECTURES[arch][1]}


def sized(arch: str, budget: float) -> int:
    """The width whose weight count is nearest ``budget`` (weightless shells)."""
    name = ARCHITECTURES[arch][0]
    step = 16 if name == "multimodal_transformer" else 2

    def count(dim: int) -> int:
        return sum(p.numel() for p in model_shell(name, params(arch, 1024, dim)).parameters())

    return nearest_width(count, range(step, 513, step), budget)


def normalised(data: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The training series over their rms per channel, and that ``(1, 3, 1)`` scale (every split is divided by it)."""
    train = load(data, "train")
    scale = train.square().mean(dim=(0, 2)).sqrt()[None, :, None]
    return train / scale, scale


def next_patch_loss(model: torch.nn.Module, x: torch.Tensor, pushforward: int = 0) -> torch.Tensor:
    """Mean squared error of every position's prediction of the patch after it (``x``: normalised windows).

    ``pushforward`` = k > 0: the inputs are first replaced k times by the model's own predictions (the first patch
    kept; no gradient), so that patch i is read through k rounds of its own errors, as k steps into a rollout; the
    target stays the truth. (Causal: round k's patch i depends on round k - 1's patches before i only.)"""
    inputs = x
    with torch.no_grad():
        for _ in range(pushforward):
            inputs = torch.cat([x[..., :PATCH], model(inputs)[..., :-PATCH]], dim=-1)
    return torch.nn.functional.mse_loss(model(inputs)[..., :-PATCH], x[..., PATCH:])


def label_of(arch: str, pushforward: int) -> str:
    """The name a run is reported under: the architecture, with ``+pushforwardK`` for the rollout-aware objective."""
    return arch + (f"+pushforward{pushforward}" if pushforward else "")


def run_folder(out: Path, label: str, dim: int, steps: int, context: int, lr: float, seed: int) -> Path:
    arch, _, objective = label.partition("+")
    name = f"{arch}-dim{dim}-steps{steps}-context{context}-lr{lr:g}-seed{seed}"
    return out / (name + (f"-{objective}" if objective else ""))


def windows(data: torch.Tensor, context: int, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` random windows of ``context`` samples (starts on the patch grid) of random series of ``data``."""
    which = torch.randint(len(data), (n,), generator=generator)
    starts = PATCH * torch.randint((data.shape[-1] - context) // PATCH + 1, (n,), generator=generator)
    return torch.stack([data[i, :, s : s + context] for i, s in zip(which.tolist(), starts.tolist())])


def train(arch: str, context: int, dim: int, lr: float, steps: int, seed: int, data: Path, out: Path,
          pushforward: int = 0) -> dict:  # fmt: skip
    """One run in this process: trains (unless ``out`` holds its trained model: trained.json and model.pt; from the
    last checkpoint.pt if one was left) and scores it. A run whose loss turns non-finite is recorded as diverged, with
    the step. ``pushforward``: the largest number of rounds of own predictions the inputs go through (drawn per step,
    0 .. K)."""
    from physml.training.trainer import decay_groups

    torch.manual_seed(seed)
    train_set, scale = normalised(data)
    model = build_model(ARCHITECTURES[arch][0], params(arch, context, dim))
    if (out / "trained.json").exists():
        trained = json.loads((out / "trained.json").read_text())
        model.load_state_dict(torch.load(out / "model.pt", map_location="cpu", weights_only=True))
    else:
        optimizer = torch.optim.AdamW(decay_groups(model, 1e-4), lr=lr)
        warmup = max(1, steps // 20)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda k: float(min(1.0, (k + 1) / warmup) * 0.5 * (1 + np.cos(np.pi * min(k, steps) / steps)))
        )  # a float, not NumPy's: the scheduler's state is saved, and loaded without pickle
        generator = torch.Generator().manual_seed(seed)
        checkpoint, done = out / "checkpoint.pt", {"step": 0, "seconds": 0.0, "losses": []}
        if checkpoint.exists():  # an interrupted run: on from its last saved step, as if it had never stopped
            resumed, saved = load_checkpoint(checkpoint)
            model.load_state_dict(resumed.state_dict())
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            generator.set_state(saved["generator"])
            torch.set_rng_state(saved["rng"])  # torch's own: for a model that draws (dropout)
            done = saved["done"]
        batch, start, losses = WINDOWS_PER_STEP // context, time.perf_counter() - done["seconds"], done["losses"]
        with progress(total=steps, initial=done["step"], desc=out.name, unit="step") as bar:
            for step in range(done["step"], steps):
                rounds = int(torch.randint(pushforward + 1, (), generator=generator)) if pushforward else 0
                loss = next_patch_loss(model, windows(train_set, context, batch, generator), rounds)
                if not torch.isfinite(loss):
                    checkpoint.unlink(missing_ok=True)
                    return {"diverged_at_step": step, "val_loss": float("inf")}
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                losses.append(loss.item())
                bar.update(1)
                if (step + 1) % CHECKPOINT_EVERY == 0:
                    done = {"step": step + 1, "losses": losses, "seconds": time.perf_counter() - start}
                    save_checkpoint(checkpoint, model, optimizer=optimizer.state_dict(), done=done,
                                    scheduler=scheduler.state_dict(), generator=generator.get_state(),
                                    rng=torch.get_rng_state())  # fmt: skip
        model.eval()
        with torch.no_grad():
            val = next_patch_loss(model, (load(data, "val") / scale)[..., N_SAMPLES - context :]).item()
        trained = {"val_loss": val, "train_loss_last": statistics.mean(losses[-20:]),
                   "train_s_per_step": (time.perf_counter() - start) / steps}  # fmt: skip
        with atomic_path(out / "model.pt") as tmp:  # the model before its record: trained.json means both are whole
            torch.save(model.state_dict(), tmp)
        with atomic_path(out / "trained.json") as tmp:
            tmp.write_text(json.dumps(trained, indent=1))
        checkpoint.unlink(missing_ok=True)
    model.eval()
    with torch.no_grad():
        scores = score(model, load(data, "test") / scale, context)
    return {**trained, "weights": sum(p.numel() for p in model.parameters()), **scores}


def run(args: argparse.Namespace, arch: str, context: int, dim: int, lr: float, steps: int, seed: int,
        out: Path) -> dict:  # fmt: skip
    """Train and score one run in a child process with one thread (resumes: a finished run is read back)."""
    scores = out / "scores.json"
    if not scores.exists():
        out.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, __file__, "--out", str(args.out), "--run",
                   json.dumps([arch, context, dim, lr, steps, seed, str(out), args.pushforward])]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        with (out / "stderr.log").open("w") as log:
            subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=log)
    return json.loads(scores.read_text())


# -- the study -------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder of the data, runs and results")
    parser.add_argument("--contexts", type=int, nargs="+", default=[1024, 4096, 16384], help="samples of context")
    parser.add_argument("--archs", nargs="+", choices=list(ARCHITECTURES), default=["transformer",
                        "linear-attention", "lstm", "ssm"])  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--budget", type=float, default=1e5, help="weights per model (default 1e5)")
    parser.add_argument("--steps", type=int, default=2000, help="training steps of 2 x 16384 samples each")
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2], help="the sweep (seed 0)")
    parser.add_argument("--trajectories", type=int, nargs=3, default=[48, 8, 12], metavar=("TRAIN", "VAL", "TEST"))
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one thread each")
    parser.add_argument("--plot", type=Path, help="also draw the forecasts of one test series to this image")
    parser.add_argument("--pushforward", type=int, default=0, metavar="K",
                        help="rollout-aware training: up to K rounds of own predictions as inputs")  # fmt: skip
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.out / "waveforms.h5"
    for context in args.contexts:
        if not (HORIZON <= context <= LONGEST and WINDOWS_PER_STEP % context == 0 and context % PATCH == 0):
            parser.error(f"--contexts {context} is invalid: need a divisor of {WINDOWS_PER_STEP} (equal samples per "
                         f"step) in [{HORIZON}, {LONGEST}]")  # fmt: skip
    if args.pushforward < 0:
        parser.error(f"--pushforward {args.pushforward} is invalid: must be >= 0")
    if args.run:
        arch, context, dim, lr, steps, seed, out, pushforward = json.loads(args.run)
        torch.set_num_threads(1)
        result = train(arch, context, dim, lr, steps, seed, data, Path(out), pushforward)
        with atomic_path(Path(out) / "scores.json") as tmp:  # its presence means the run is finished
            tmp.write_text(json.dumps(result, indent=1))
        return
    print(machine(), flush=True)
    counts = dict(zip(SPLITS, args.trajectories))
    if not data.exists():
        build(data, counts, args.jobs)
    with h5py.File(data, "r") as f:
        stored = {split: len(f[f"{split}/psi"]) for split in SPLITS}
    if stored != counts:
        parser.error(f"--trajectories {args.trajectories} is invalid for {data}, which holds {stored}: give those, "
                     "or another --out")  # fmt: skip
    dims = {arch: sized(arch, args.budget) for arch in args.archs}
    pool = ThreadPoolExecutor(args.jobs)
    shortest = min(args.contexts)

    def folder(arch: str, context: int, seed: int, lr: float) -> Path:  # the sweep's runs are the main runs' too
        return run_folder(args.out, label_of(arch, args.pushforward), dims[arch], args.steps, context, lr, seed)

    sweeps = {(a, lr): pool.submit(run, args, a, shortest, dims[a], lr, args.steps, 0, folder(a, shortest, 0, lr))
              for a in args.archs for lr in args.lrs}  # fmt: skip
    lrs = {}
    for arch in args.archs:
        losses = {}
        for lr in args.lrs:
            losses[lr] = sweeps[arch, lr].result()["val_loss"]  # inf: diverged
        if not any(np.isfinite(list(losses.values()))):
            raise SystemExit(f"{arch}: every learning rate of the sweep diverged: {losses}")
        lrs[arch] = min(losses, key=losses.get)
        print(f"{arch}: validation loss by lr {losses} -> {lrs[arch]:g}", flush=True)
    runs = {(a, c, s): pool.submit(run, args, a, c, dims[a], lrs[a], args.steps, s, folder(a, c, s, lrs[a]))
            for a in args.archs for c in args.contexts for s in args.seeds}  # fmt: skip
    done = {key: future.result() for key, future in runs.items()}
    pool.shutdown()
    reference = baselines(load(data, "test"))  # outside the lock: other invocations wait on it
    with merged_json(args.out / "results.json", {"runs": {}, "lrs": {}}) as results:  # other invocations' rows stay
        results["baselines"] = reference
        results["steps"] = args.steps
        for (arch, context, seed), scores in done.items():
            label = label_of(arch, args.pushforward)
            results["runs"][f"{label}|{context}|{seed}"] = scores
            results["lrs"][label] = lrs[arch]
    print(report(results))
    if args.plot:
        plot(results, args, args.plot)
        print(f"wrote {args.plot}")


def report(results: dict) -> str:
    """Mean ± sample standard deviation over seeds, per architecture and context."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for key, r in results["runs"].items():
        arch, context, _ = key.split("|")
        groups.setdefault((arch, int(context)), []).append(r)

    def spread(values: list[float], digits: int = 3) -> str:
        mean = statistics.mean(values)
        return f"{mean:.{digits}g} ± {statistics.stdev(values):.1g}" if len(values) > 1 else f"{mean:.{digits}g}"

    def cells(r: list[dict] | dict) -> list[list[float]]:  # barrier at 20, 40, 102 M; all radii at 40, 102 M
        rs = r if isinstance(r, list) else [r]
        barrier = [[x[f"forecast_{w}"][1] for x in rs] for w in WINDOWS]
        every = [[statistics.mean(x[f"forecast_{w}"]) for x in rs] for w in ("40M", "102M")]
        return barrier + every

    header = ["architecture", "context", "weights", "lr", "seeds", "one-step nRMSE", "r* = 10 M: 20 M", "40 M",
              "102 M", "all radii: 40 M", "102 M", "s / step", "forecast s"]  # fmt: skip
    rows = []
    for (arch, context), every in sorted(groups.items(), key=lambda item: (item[0][1], item[0][0])):
        rs = [r for r in every if "diverged_at_step" not in r]
        seeds = str(len(rs)) + (f" ({len(every) - len(rs)} diverged)" if len(rs) < len(every) else "")
        if not rs:
            rows.append([arch, str(context), "—", f"{results['lrs'][arch]:g}", seeds, *["—"] * 8])
            continue
        one = [statistics.mean(r["one_step"]) for r in rs]
        rows.append([arch, str(context), str(rs[0]["weights"]), f"{results['lrs'][arch]:g}", seeds,
                     spread(one), *(spread(c) for c in cells(rs)),
                     f"{statistics.mean(r['train_s_per_step'] for r in rs):.3f}",
                     f"{statistics.mean(r['forecast_s'] for r in rs):.1f}"])  # fmt: skip
    for name, b in results["baselines"].items():
        rows.append([name, "—", "0", "—", "—", "—", *(f"{c[0]:.3g}" for c in cells(b)), "—", "—"])
    return markdown_table(header, rows)


def plot(results: dict, args: argparse.Namespace, path: Path) -> None:
    """The forecast of the first test series at the barrier (r* = 10 M) by each architecture (seed 0), one panel
    per context, over the truth."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = args.out / "waveforms.h5"
    test = (load(data, "test") / normalised(data)[1])[:1]
    t = DT * np.arange(-HORIZON, HORIZON)
    fig, axes = plt.subplots(len(args.contexts), 1, figsize=(10, 2.6 * len(args.contexts)), sharex=True, squeeze=False)
    for ax, context in zip(axes[:, 0], sorted(args.contexts)):
        ax.plot(t, test[0, 1, LONGEST - HORIZON : LONGEST + HORIZON], "k", lw=1.2, label="truth")
        for label, lr in results["lrs"].items():  # every model run so far, with this invocation's steps and budget
            arch = label.partition("+")[0]
            dim = sized(arch, args.budget)
            folder = run_folder(args.out, label, dim, args.steps, context, lr, 0)
            if not (folder / "model.pt").exists():
                continue
            model = build_model(ARCHITECTURES[arch][0], params(arch, context, dim)).eval()
            model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
            with torch.no_grad():
                ax.plot(t[HORIZON:], forecast(model, test, context)[0, 1], lw=0.9, label=label)
        ax.axvline(0.0, color="grey", lw=0.6)
        ax.set(ylabel="psi at r* = 10 M (rms units)", title=f"context {context} samples ({context * DT:g} M)")
    axes[0, 0].legend(fontsize=7, ncol=len(results["lrs"]) + 1)
    axes[-1, 0].set_xlabel("t - t_forecast (M)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
