"""GPU check: the shipped FNO and transformer recipes trained with bf16 autocast (and torch.compile) on the GPU,
against the same recipes in float32 on the CPU.

For each recipe (``--recipes``), in one run on one machine:
  * variants: ``cpu fp32`` (the reference), ``DEVICE bf16`` (the trainer's own path: it autocasts to
    bfloat16 on CUDA) and, with ``--compile``, ``DEVICE bf16 + compile`` (``torch.compile`` of the
    module the training step calls);
  * throughput: training steps (forward, every loss term of the recipe, backward, clip, AdamW, schedule)
    in samples/s over ``--steps`` steps after ``--warmup`` steps, the device synchronised before the clock
    is read; and the ratio to the CPU;
  * error against the CPU float32 run: every variant starts from the same weights (seed) and takes the
    same batches; reported are its validation loss after ``--steps`` steps over the CPU run's (1.0 = as
    good), and the relative difference of its one-step predictions on a validation batch from those of
    the CPU-trained model run in float32 (``pred diff``), which measures bf16 rounding plus the drift of
    the trained weights.

The data: ``--data FILE`` (a ``schrodinger-1d`` build), or a build of ``--n-trajectories`` of the shipped
``schrodinger-1d`` config in a temporary folder.

    python benchmarks/gpu_check.py                      # on a machine with CUDA
    python benchmarks/gpu_check.py --device cpu --quick # smoke run of the script on a CPU (no bf16 there)
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import torch
from _report import machine, markdown_table
from torch.utils.data import DataLoader

from physml.datasets import build_dataset, load_config
from physml.training import Trainer, load_train_config

RECIPES = ("fno-schrodinger-1d", "transformer-schrodinger-1d-fields")


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def trainer_for(recipe: str, data: Path, device: str, out: Path) -> Trainer:
    config = load_train_config(recipe)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, path=str(data)), device=device)
    return Trainer(config, out, progress=False)


def train_steps(trainer: Trainer, batches: list[dict], *, warmup: int, compile_model: bool) -> float:
    """Seconds per training step over ``batches[warmup:]`` (each step as the trainer takes it)."""
    net = torch.compile(trainer.net) if compile_model else trainer.net
    clip = trainer.config.optim.grad_clip

    def step(batch: dict) -> None:
        loss = trainer.total(trainer.losses(batch, model=net))
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainer.model.parameters(), clip)
        trainer.optimizer.step()
        trainer.scheduler.step()

    trainer.model.train()
    for batch in batches[:warmup]:
        step(batch)
    synchronize(trainer.device)
    start = time.perf_counter()
    for batch in batches[warmup:]:
        step(batch)
    synchronize(trainer.device)
    return (time.perf_counter() - start) / max(len(batches) - warmup, 1)


def predictions(trainer: Trainer, batch: dict) -> torch.Tensor:
    """One-step predictions of the trainer's model on ``batch``, on the CPU in float32."""
    trainer.model.eval()
    with torch.no_grad():
        fields = batch["input_fields"].to(trainer.device)
        constant = batch.get("constant_fields")
        constant = None if constant is None else constant.to(trainer.device)
        context = trainer.conditioning(batch, trainer.device)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=trainer.device.type == "cuda")
        with autocast:
            out = trainer.format.predict(trainer.model, fields, constant, context)
    return out.float().cpu()


def check_recipe(recipe: str, data: Path, args: argparse.Namespace, folder: Path) -> list[list[str]]:
    variants = [("cpu fp32", "cpu", False)]
    if args.device != "cpu":
        variants.append((f"{args.device} bf16", args.device, False))
        if args.compile:
            variants.append((f"{args.device} bf16 + compile", args.device, True))
    elif args.compile:
        variants.append(("cpu fp32 + compile", "cpu", True))
    results = {}
    for label, device, compile_model in variants:
        torch.manual_seed(0)
        trainer = trainer_for(recipe, data, device, folder / f"{recipe}-{label.replace(' ', '_')}")
        generator = torch.Generator().manual_seed(0)
        loader = DataLoader(trainer.train_set, batch_size=trainer.config.data.batch_size, shuffle=True,
                            generator=generator, drop_last=True)  # fmt: skip
        batches = []
        while len(batches) < args.warmup + args.steps:
            batches.extend(loader)
        batches = batches[: args.warmup + args.steps]
        seconds = train_steps(trainer, batches, warmup=args.warmup, compile_model=compile_model)
        val_batch = next(iter(DataLoader(trainer.val_set, batch_size=64)))
        results[label] = {
            "samples_per_s": trainer.config.data.batch_size / seconds,
            "val_loss": trainer.evaluate(),
            "pred": predictions(trainer, val_batch),
        }
        print(f"  {recipe} {label}: {results[label]['samples_per_s']:.0f} samples/s", flush=True)
    reference = results["cpu fp32"]
    rows = []
    for label, r in results.items():
        diff = float((r["pred"] - reference["pred"]).norm() / reference["pred"].norm())
        rows.append([
            recipe, label, f"{r['samples_per_s']:.0f}", f"{r['samples_per_s'] / reference['samples_per_s']:.2f}x",
            f"{r['val_loss']:.3g}", f"{r['val_loss'] / reference['val_loss']:.2f}", f"{diff:.2g}",
        ])  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), help="shipped training configs to run")
    parser.add_argument("--device", default="cuda", help="the device to check against the CPU (default: cuda)")
    parser.add_argument("--steps", type=int, default=300, help="timed training steps per variant (default: 300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first (compilation, allocator)")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=True, help="also torch.compile")
    parser.add_argument("--data", type=Path, help="a schrodinger-1d file (default: build one in a temporary folder)")
    parser.add_argument("--n-trajectories", type=int, default=64, help="trajectories of the temporary build")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10 steps, 16 trajectories, no compile")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup, args.n_trajectories, args.compile = 10, 2, 16, False
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device here (use --device cpu for a smoke run)")
    print(machine())
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name(torch.device(args.device))}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = args.data
        if data is None:
            data = folder / "schrodinger-1d.h5"
            config = load_config("schrodinger-1d").with_trajectories(args.n_trajectories)
            build_dataset(config, data, progress=False)
        rows = [row for recipe in args.recipes for row in check_recipe(recipe, data, args, folder)]
    header = ["recipe", "variant", "samples/s", "vs CPU", "val loss", "val loss / CPU", "pred diff"]
    print(f"\n{args.steps} steps after {args.warmup} warm-up steps, same weights and batches per variant\n")
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
