"""One model across families, transfer to new physics, growing a trained model, and training on without forgetting.

    python benchmarks/multiphysics.py --out runs/multiphysics [--parts joint transfer growth continual \\
        extrapolation] [--epochs 2] [--fractions 0.05 0.25 1] [--seeds 0 1 2] [--target collapse] \\
        [--adapt-epochs 10] [--adapt-lrs 3e-3 3e-4] [--freeze-steps 200] [--finetune-lr 3e-4] [--scratch-lr 1e-2] \\
        [--dim 64] [--jobs 2]

Data: ``data/schrodinger-1d.h5``, ``data/near-horizon-1d.h5`` and ``data/collapse-1d.h5`` (``physml dataset
build``; ``--data`` for other paths). Every run is ``physml train`` of a ``multiphysics_transformer`` (trunk of
``--dim`` 64, 4 blocks, heads of 16 channels; each family its own patch embedding and head; residual; rms
normalisation; batch 32; AdamW at 3e-3 with 100 warm-up steps and a cosine decay), or for growth a single-family
``multimodal_transformer``, in a child process with one thread, ``--jobs`` at a time. Runs resume; each is scored
once on its family's test split (one-step nRMSE and the nRMSE of 20-step rollouts, ``physml evaluate``'s).

Parts:

* ``joint``: each family alone for ``--epochs`` epochs, against one model on all three for ``--epochs`` epochs
  with each dataset weighted by its batches per pass, so that the joint model spends on each family the steps its single
  model spent (equal weights per family in the trunk, and the joint run's compute is the three single runs'
  together).
* ``transfer``: pretrain on the two families other than ``--target`` (``--epochs`` epochs); then fine-tune on
  ``--fractions`` of the target's training trajectories (``physml train --init``), against the same model trained
  from scratch on the same data for the same steps (one joint epoch: every dataset's batches, all drawn from the
  target, whose earlier families are kept with weight 0), ``--seeds`` each; the best validation of every 50 steps.
  ``--freeze-steps N`` holds the pretrained trunk fixed for the fine-tune's first N steps (``optim.freeze``);
  ``--finetune-lr`` sets the fine-tune's peak learning rate, ``--scratch-lr`` that of the runs from scratch (both
  3e-3 by default).
* ``growth``: a small transformer (``dim`` 32, 2 blocks) on ``schrodinger-1d``; then the large one, grown from it
  (function-preserving) and from scratch, for the same steps: the steps each takes to reach the small model's best
  validation loss (validated every 25 steps).
* ``extrapolation``: the near-horizon model of ``joint`` (trained on holes of mass <= 1.4) fine-tuned for
  ``--adapt-epochs`` at each of ``--adapt-lrs`` on half of the heavier holes of the extrapolation split
  (``extrapolation[:0.5]``, validated on the next quarter), against the same model from scratch on them (at
  3e-3), ``--seeds`` each; scored on the last quarter, which none saw, and on the test split (in range: what
  the fine-tune forgets).
* ``continual``: the pretrained two-family model extended with the target family, alone (weights 0 for the old
  ones) or with replay (the old families at ``--replay`` of their size in each epoch's batches): the old families'
  test error before and after, and the target's.
"""

from __future__ import annotations

import argparse
import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _report import machine, markdown_table, mean_spread, train_run

FAMILIES = {  # name: (file, data options, patch)
    "schrodinger": ("schrodinger-1d.h5", {"n_input": 1}, 8),
    "near_horizon": ("near-horizon-1d.h5", {"n_input": 2}, 3),
    "collapse": ("collapse-1d.h5", {"n_input": 1, "fields": ["a", "alpha", "Phi", "Pi"]}, 3),
}
TRUNK = {"dim": 64, "depth": 4, "n_heads": 4, "n_kv_heads": 2}
SMALL = {"dim": 32, "depth": 2, "n_heads": 2, "n_kv_heads": 1}
LR = 3e-3  # the peak learning rate of every run from scratch


def recipe(args: argparse.Namespace, weights: dict[str, float], *, epochs: int, seed: int, fraction: float = 1.0,
           target: str | None = None, val_every: int = 0, single: dict | None = None) -> dict:  # fmt: skip
    """A ``physml train`` config: the families of ``weights`` (``target`` read at ``fraction``), or, given
    ``single`` (model params), one ``multimodal_transformer`` on the first family."""
    data = {}
    for family, weight in weights.items():
        file, options, _ = FAMILIES[family]
        data[family] = {"path": str(args.data / file), **options, "batch_size": 32, "normalize": "rms",
                        "in_memory": True, "weight": weight,
                        "train_fraction": fraction if family == target else 1.0}  # fmt: skip
    model = {"name": "multiphysics_transformer", "residual": True,
             "params": {**args.trunk, "patch": {f: FAMILIES[f][2] for f in weights}}}  # fmt: skip
    if set(weights) - {"collapse"}:  # the potential (of the other two) enters as asinh(V / 2)
        model["squash"] = {"potential": 2.0}
    if single is not None:
        (family,) = weights
        data = {k: v for k, v in data[family].items() if k != "weight"}
        model = {**model, "name": "multimodal_transformer", "params": {**single, "patch": FAMILIES[family][2]}}
    return {"data": data, "model": model, "losses": {"data": 1.0}, "epochs": epochs, "seed": seed,
            "optim": {"lr": LR, "weight_decay": 1e-4, "warmup_steps": 100, "grad_clip": 1.0},
            "checkpoint_every": 200, "val_every": val_every}  # fmt: skip


def score(args: argparse.Namespace, run: Path, family: str, checkpoint: str = "best.pt", *,
          split: str = "test") -> dict[str, float]:  # fmt: skip
    """One-step and ``--rollout``-step nRMSE of a run's model on ``family``'s ``split`` (cached in the run)."""
    cache = run / f"scores-{family}-{checkpoint.removesuffix('.pt')}{'' if split == 'test' else '-' + split}.json"
    if not cache.exists():
        from physml.training import evaluate_checkpoints

        result = evaluate_checkpoints({"model": run / checkpoint}, args.data / FAMILIES[family][0], split=split,
                                      rollout=args.rollout, device="cpu")  # fmt: skip
        model = result["models"]["model"]
        cache.write_text(json.dumps({"one_step": model["one_step"]["nrmse"],
                                     "rollout": model["rollout"]["nrmse_final"]}))  # fmt: skip
    return json.loads(cache.read_text())


def windows(args: argparse.Namespace, family: str, fraction: float = 1.0) -> int:
    """Training windows of ``family`` (``fraction`` of its training trajectories)."""
    from physml.datasets.samples import WindowDataset

    file, options, _ = FAMILIES[family]
    return len(WindowDataset(args.data / file, split="train", n_input=options["n_input"], fraction=fraction,
                             fields=options.get("fields")))  # fmt: skip


def batches(args: argparse.Namespace, family: str) -> int:
    """Training batches of 32 in one pass over ``family``."""
    return math.ceil(windows(args, family) / 32)


def steps_to(run: Path, loss: float) -> int | None:
    """The first validated step at which a run's validation loss is at most ``loss``."""
    import csv

    with (run / "val.csv").open() as f:
        return next((int(row["step"]) for row in csv.DictReader(f) if float(row["loss"]) <= loss), None)


def best_loss(run: Path) -> float:
    import csv

    with (run / "val.csv").open() as f:
        return min(float(row["loss"]) for row in csv.DictReader(f))


def joint(args: argparse.Namespace, pool: ThreadPoolExecutor) -> str:
    sizes = {f: batches(args, f) for f in FAMILIES}
    futures = {f: pool.submit(train_run, recipe(args, {f: 1.0}, epochs=args.epochs, seed=0), args.out / f"single-{f}")
               for f in FAMILIES}  # fmt: skip
    futures["joint"] = pool.submit(train_run, recipe(args, sizes, epochs=args.epochs, seed=0), args.out / "joint")
    runs = {name: future.result() for name, future in futures.items()}
    rows = []
    for family in FAMILIES:
        alone, together = score(args, runs[family], family), score(args, runs["joint"], family)
        rows.append([family, f"{alone['one_step']:.4f}", f"{together['one_step']:.4f}",
                     f"{together['one_step'] / alone['one_step']:.2f}", f"{alone['rollout']:.3f}",
                     f"{together['rollout']:.3f}"])  # fmt: skip
    header = ["family", "alone: one-step", "joint: one-step", "joint / alone", f"alone: {args.rollout}-step",
              f"joint: {args.rollout}-step"]  # fmt: skip
    seconds = {name: json.loads((run / "done").read_text())["seconds"] for name, run in runs.items()}
    return markdown_table(header, rows) + f"\n\nseconds: {json.dumps({k: round(v) for k, v in seconds.items()})}"


def pretrain(args: argparse.Namespace) -> Path:
    old = {f: batches(args, f) for f in FAMILIES if f != args.target}
    return train_run(recipe(args, old, epochs=args.epochs, seed=0), args.out / f"pretrain-without-{args.target}")


def transfer(args: argparse.Namespace, pool: ThreadPoolExecutor) -> str:
    base = pretrain(args) / "best.pt"
    weights = {f: 0.0 if f != args.target else 1.0 for f in FAMILIES}
    jobs = {}
    for fraction in args.fractions:
        for seed in args.seeds:
            config = recipe(args, weights, epochs=1, seed=seed, fraction=fraction, target=args.target, val_every=50)
            optim, tag = {**config["optim"], "lr": args.finetune_lr}, ""
            if args.finetune_lr != config["optim"]["lr"]:
                tag += f"-lr{args.finetune_lr:g}"
            if args.freeze_steps:
                optim |= {"freeze": ["trunk"], "freeze_steps": args.freeze_steps}
                tag += f"-freeze{args.freeze_steps}"
            tuned = {**config, "optim": optim}
            scratch = {**config, "optim": {**config["optim"], "lr": args.scratch_lr}}
            plain = f"-lr{args.scratch_lr:g}" if args.scratch_lr != LR else ""
            for how, init, run, suffix in (("finetune", base, tuned, tag), ("scratch", None, scratch, plain)):
                out = args.out / f"{how}-{args.target}-{fraction:g}{suffix}-seed{seed}"
                jobs[how, fraction, seed] = pool.submit(train_run, run, out, init=init)
    rows = []
    for fraction in args.fractions:
        errors = {how: [score(args, jobs[how, fraction, s].result(), args.target)["one_step"] for s in args.seeds]
                  for how in ("finetune", "scratch")}  # fmt: skip
        ratio = [f / s for f, s in zip(errors["finetune"], errors["scratch"])]
        rows.append([f"{fraction:g}", str(windows(args, args.target, fraction)), mean_spread(errors["finetune"]),
                     mean_spread(errors["scratch"]), mean_spread(ratio)])  # fmt: skip
    header = [f"{args.target}: share of training trajectories", "windows", "fine-tuned", "from scratch",
              "fine-tuned / scratch"]  # fmt: skip
    return markdown_table(header, rows)


def growth(args: argparse.Namespace, pool: ThreadPoolExecutor) -> str:
    family = "schrodinger"
    small = train_run(recipe(args, {family: 1.0}, epochs=args.epochs, seed=0, single=SMALL, val_every=25),
                  args.out / "growth-small")  # fmt: skip
    large = recipe(args, {family: 1.0}, epochs=args.epochs, seed=0, single=args.trunk, val_every=25)
    grown = pool.submit(train_run, large, args.out / "growth-grown", init=small / "best.pt")
    scratch = pool.submit(train_run, large, args.out / "growth-scratch")
    target = best_loss(small)
    rows = []
    for name, run in (("small", small), ("grown", grown.result()), ("large from scratch", scratch.result())):
        reached = steps_to(run, target)
        rows.append([name, f"{best_loss(run):.3g}", "—" if reached is None else str(reached),
                     f"{score(args, run, family)['one_step']:.4f}"])  # fmt: skip
    return markdown_table(["model", "best validation loss", "steps to the small model's best", "test one-step"], rows)


def continual(args: argparse.Namespace, pool: ThreadPoolExecutor) -> str:
    base = pretrain(args)
    old = {f: batches(args, f) for f in FAMILIES if f != args.target}
    target = batches(args, args.target)
    plans = {"alone": {**dict.fromkeys(old, 0.0), args.target: 1.0},
             "replay": {**{f: args.replay * n for f, n in old.items()}, args.target: float(target)}}  # fmt: skip
    runs = {name: pool.submit(train_run, recipe(args, weights, epochs=args.epochs, seed=0), args.out / f"extend-{name}",
                              init=base / "best.pt") for name, weights in plans.items()}  # fmt: skip
    rows = [["before"] + [f"{score(args, base, f)['one_step']:.4f}" for f in old] + ["—"]]
    for name, future in runs.items():
        run = future.result()
        rows.append([f"extended, {name}"] + [f"{score(args, run, f)['one_step']:.4f}" for f in (*old, args.target)])
    return markdown_table(["model", *(f"{f}: one-step" for f in old), f"{args.target}: one-step"], rows)


def extrapolation(args: argparse.Namespace, pool: ThreadPoolExecutor) -> str:
    family, held_out = "near_horizon", "extrapolation[0.75:]"
    base = train_run(recipe(args, {family: 1.0}, epochs=args.epochs, seed=0), args.out / f"single-{family}")
    plans = {f"fine-tuned at lr {lr:g}": (lr, base / "best.pt") for lr in args.adapt_lrs}
    plans[f"from scratch at lr {LR:g}"] = (LR, None)
    jobs = {}
    for seed in args.seeds:
        for how, (lr, init) in plans.items():
            config = recipe(args, {family: 1.0}, epochs=args.adapt_epochs, seed=seed)
            config["data"][family] |= {"train_split": "extrapolation[:0.5]", "val_split": "extrapolation[0.5:0.75]"}
            config["optim"]["lr"] = lr
            out = args.out / f"{how.split(' at ')[0].replace(' ', '-')}-extrapolation-lr{lr:g}-seed{seed}"
            jobs[how, seed] = pool.submit(train_run, config, out, init=init)
    models = {"pretrained (train split), not tuned": [base]}
    models |= {how: [jobs[how, s].result() for s in args.seeds] for how in plans}
    rows = []
    for name, runs in models.items():
        held = [score(args, run, family, split=held_out) for run in runs]
        test = [score(args, run, family) for run in runs]
        rows.append([name, *(mean_spread([v[k] for v in scores]) for scores in (held, test)
                             for k in ("one_step", "rollout"))])  # fmt: skip
    header = ["near_horizon model", f"{held_out}: one-step nRMSE", f"{held_out}: {args.rollout}-step",
              "test: one-step", f"test: {args.rollout}-step"]  # fmt: skip
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=Path("data"), help="the folder of the three builds")
    parser.add_argument("--parts", nargs="+", default=["joint", "transfer", "growth", "continual"],
                        choices=["joint", "transfer", "growth", "continual", "extrapolation"])  # fmt: skip
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.05, 0.25, 1.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--target", choices=list(FAMILIES), default="collapse")
    parser.add_argument("--replay", type=float, default=0.2, help="old families' share of their size, per epoch")
    parser.add_argument("--rollout", type=int, default=20, help="steps of the scored rollouts")
    parser.add_argument("--adapt-epochs", type=int, default=10, help="epochs of the extrapolation fine-tune")
    parser.add_argument("--adapt-lrs", type=float, nargs="+", default=[LR, 3e-4],
                        help=f"peak learning rates of the extrapolation fine-tune (from scratch: {LR:g})")  # fmt: skip
    parser.add_argument("--freeze-steps", type=int, default=0,
                        help="transfer: hold the pretrained trunk fixed for the fine-tune's first steps")  # fmt: skip
    parser.add_argument("--finetune-lr", type=float, default=LR,
                        help=f"transfer: peak learning rate of the fine-tune (default {LR:g})")  # fmt: skip
    parser.add_argument("--scratch-lr", type=float, default=LR,
                        help=f"transfer: peak learning rate of the runs from scratch (default {LR:g})")  # fmt: skip
    parser.add_argument("--dim", type=int, default=TRUNK["dim"],
                        help="width of the trunk, a multiple of 32 (heads of 16 channels)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if args.freeze_steps < 0:
        parser.error(f"--freeze-steps must be >= 0, got {args.freeze_steps}")
    for name in ("finetune_lr", "scratch_lr"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name):g}")
    if args.dim < 32 or args.dim % 32:
        parser.error(f"--dim must be a positive multiple of 32, got {args.dim}")
    args.trunk = {**TRUNK, "dim": args.dim, "n_heads": args.dim // 16, "n_kv_heads": args.dim // 32}
    print(machine(), flush=True)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for part in args.parts:
            parts = {"joint": joint, "transfer": transfer, "growth": growth, "continual": continual,
                     "extrapolation": extrapolation}  # fmt: skip
            table = parts[part](args, pool)
            print(f"\n## {part}\n\n{table}", flush=True)
            (args.out / f"{part}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
