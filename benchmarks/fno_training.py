"""physml's Fourier neural operator against neuraloperator's: training throughput and accuracy.

Both models are built with the same kept Fourier modes, width (hidden
channels), number of Fourier layers, input/output channels and batch size, on
1D fields of 256 points (the ``schrodinger-1d`` layout: psi re/im plus the
potential in, psi re/im out), configured to the same architecture: a
pointwise linear lift, ``n_layers`` blocks ``K v + W v`` (spectral
convolution plus a linear 1x1 skip), a projection through a ``2 width``
hidden layer. neuraloperator's options for that: ``positional_embedding=None,
use_channel_mlp=False, fno_skip="linear", lifting_channel_ratio=0,
projection_channel_ratio=2, norm=None``, dense (unfactorised) weights.
physml's ``modes=(m,)`` keeps real-FFT modes ``0 .. m-1``; neuraloperator's
``n_modes=(k,)`` keeps ``k // 2 + 1`` of them, so it is given ``k = 2m - 1``.
The two then have exactly the same number of parameters (printed).

Differences that remain (neuraloperator 2.0.0 has no option for them):
  * activations: physml applies one GELU after every block; neuraloperator's
    ``FNOBlocks`` applies GELU twice after each block but the last
    (``GELU(GELU(.))``: the activation meant to follow the channel MLP runs
    even without one) and none after the last;
  * biases: physml's sit in the 1x1 skip, neuraloperator's in the spectral
    convolution (same count, same function class);
  * initial spectral weights: neuraloperator draws complex N(0, 2/(in+out)),
    physml real and imaginary parts N(0, 1/(in out)) each: sqrt(width/2)
    times smaller (4x at width 32). Pointwise layers: PyTorch's default init in both;
  * FFT normalisation: ``ortho`` (physml) against ``forward``: the same map.

Measured in one run, every time the best of ``--repeats`` with the variants
timed in turn within each repeat (the order alternating):
  * whole models: a training step (forward, MSE loss, backward, AdamW step)
    on a batch, in samples/s, and the ratio physml / neuraloperator; a
    forward pass at batch 1 (inference, as in an autoregressive rollout);
  * one spectral convolution alone (forward + backward, and forward at
    batch 1): physml's, physml's contracted with ``torch.einsum`` (as it was
    before the batched-matmul contraction; the same numbers, bit for bit) and
    neuraloperator's;
  * accuracy: a small ``schrodinger-1d`` dataset (``--n-trajectories``, built
    in a temporary folder, windows 1 -> 1, RMS-normalised); for each of
    ``--seeds`` seeds both models start from that seed and train ``--steps``
    AdamW steps (lr 1e-3, constant, no clipping) on the same batches, then
    report validation MSE and nRMSE (persistence, ``psi(t + 0.1) = psi(t)``,
    for scale).

neuraloperator is installed only for this benchmark, never as a physml
dependency. Its full install resolves beside physml's pins but pulls wandb,
pydantic, opentelemetry and a pytest plugin; what it needs at import is
four packages:

    .venv/bin/python -m pip install -c constraints.txt --no-deps \\
        neuraloperator==2.0.0 tensorly==0.10.0 tensorly-torch==0.5.0 opt_einsum==3.4.0

    python benchmarks/fno_training.py [--settings 16:32 32:64] [--steps 300] [--repeats 5]
    python benchmarks/fno_training.py --quick   # smoke run, well under a minute
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from _report import best_of, machine, markdown_table, modes_width
from torch import nn
from torch.nn import functional as F

from physml.datasets import WindowDataset, build_dataset, load_config
from physml.models import FNO, FieldFormat, FNOConfig, SpectralConv
from physml.models.metrics import nrmse

INSTALL = (
    ".venv/bin/python -m pip install -c constraints.txt --no-deps "
    "neuraloperator==2.0.0 tensorly==0.10.0 tensorly-torch==0.5.0 opt_einsum==3.4.0"
)
N_POINTS = 256
FORMAT = FieldFormat(n_input=1, n_channels=2, n_constant=1)  # psi re/im + potential -> psi re/im


def neuralop_fno_class() -> type[nn.Module]:
    try:
        from neuralop import models as neuralop_models
    except ImportError as exc:
        raise SystemExit(
            f"neuraloperator cannot be imported ({exc}). It is not a physml dependency; install it for this "
            f"benchmark only, from the repository root:\n  {INSTALL}"
        ) from None
    return neuralop_models.FNO


def build_models(modes: int, width: int, n_layers: int, seed: int) -> dict[str, nn.Module]:
    """The two FNOs, each initialised from ``seed``."""
    neuralop_fno = neuralop_fno_class()
    torch.manual_seed(seed)
    ours = FNO(FNOConfig(FORMAT.in_channels, FORMAT.out_channels, modes=(modes,), width=width, n_layers=n_layers))
    torch.manual_seed(seed)
    theirs = neuralop_fno(
        n_modes=(2 * modes - 1,),  # keeps (2m - 1) // 2 + 1 = m real-FFT modes, as physml's modes=(m,)
        in_channels=FORMAT.in_channels,
        out_channels=FORMAT.out_channels,
        hidden_channels=width,
        n_layers=n_layers,
        lifting_channel_ratio=0,  # 0: a single pointwise linear lift
        projection_channel_ratio=2,
        positional_embedding=None,
        use_channel_mlp=False,
        fno_skip="linear",
        norm=None,
    )
    return {"physml": ours, "neuraloperator": theirs}


def n_parameters(model: nn.Module) -> int:
    """Real parameters (a complex entry counts twice)."""
    return sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())


def training_step(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> Callable[[], float]:
    """Forward, MSE loss, backward and an AdamW step on one batch."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def step() -> float:
        loss = F.mse_loss(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def inference(model: nn.Module, inputs: torch.Tensor) -> Callable[[], object]:
    def forward() -> torch.Tensor:
        with torch.inference_mode():
            return model(inputs)

    return forward


def gradient(layer: nn.Module, inputs: torch.Tensor) -> Callable[[], object]:
    """Forward and backward of one layer (gradients of its input and weights)."""
    inputs = inputs.clone().requires_grad_(True)

    def run() -> None:
        layer(inputs).square().mean().backward()

    return run


class EinsumSpectralConv(nn.Module):
    """The 1D layer of a :class:`SpectralConv` contracted with ``torch.einsum``, as physml did before its ``_mix``."""

    def __init__(self, layer: SpectralConv) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        (m,) = self.layer.modes
        v_hat = torch.fft.rfft(v, norm="ortho")  # (B, Cin, X) -> (B, Cin, X//2+1)
        out = v_hat.new_zeros(v.shape[0], self.layer.out_channels, v_hat.shape[-1])
        weight = torch.view_as_complex(self.layer.weight)  # (Cin, Cout, m)
        out[..., :m] = torch.einsum("bix,iox->box", v_hat[..., :m], weight)
        return torch.fft.irfft(out, n=v.shape[-1], norm="ortho")  # (B, Cout, X)


def spectral_layers(modes: int, width: int) -> dict[str, nn.Module]:
    """physml's spectral convolution, its einsum form and neuraloperator's, all bias-free, ``width -> width``."""
    from neuralop.layers.spectral_convolution import SpectralConv as NeuralopSpectralConv

    ours = SpectralConv(width, width, modes=(modes,))
    return {
        "physml": ours,
        "physml, einsum": EinsumSpectralConv(ours),
        "neuraloperator": NeuralopSpectralConv(width, width, n_modes=(2 * modes - 1,), bias=False),
    }


def load_split(path: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every 1 -> 1 window of a split as model tensors ``(N, 3, X)`` and targets ``(N, 2, X)``."""
    dataset = WindowDataset(path, n_input=1, n_output=1, split=split, normalize="rms")
    if len(dataset) == 0:
        raise ValueError(f"split {split!r} of {path} is empty: raise --n-trajectories")
    samples = [dataset[i] for i in range(len(dataset))]
    dataset.close()
    fields = torch.stack([s["input_fields"] for s in samples])  # (N, 1, 2, X)
    constant = torch.stack([s["constant_fields"] for s in samples])  # (N, 1, X)
    targets = torch.stack([s["output_fields"][0] for s in samples])  # (N, 2, X)
    return FORMAT.inputs(fields, constant), targets


def batch_order(n_samples: int, batch_size: int, n_steps: int, seed: int) -> list[torch.Tensor]:
    """Index batches of shuffled epochs (the trainer's scheme), the same list for every model."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.cat(
        [torch.randperm(n_samples, generator=generator) for _ in range(-(-n_steps * batch_size // n_samples))]
    )
    return [order[i * batch_size : (i + 1) * batch_size] for i in range(n_steps)]


def train_and_validate(
    model: nn.Module, train: tuple[torch.Tensor, torch.Tensor], val: tuple[torch.Tensor, torch.Tensor],
    batches: list[torch.Tensor],
) -> dict[str, float]:  # fmt: skip
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    start = time.perf_counter()
    for indices in batches:
        loss = F.mse_loss(model(train[0][indices]), train[1][indices])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        prediction = model(val[0])  # (N, 3, X) -> (N, 2, X)
    return {
        "mse": F.mse_loss(prediction, val[1]).item(),
        "nrmse": nrmse(prediction, val[1]).mean().item(),
        "seconds": seconds,
    }


def report_speed(args: argparse.Namespace) -> None:
    print(f"\n### Whole models: training step (batch {args.batch_size}) and inference (batch 1); {N_POINTS} points, "
          f"{args.layers} layers, {FORMAT.in_channels} -> {FORMAT.out_channels} channels; "
          f"best of {args.repeats}\n")  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(args.batch_size, FORMAT.in_channels, N_POINTS, generator=generator)
    targets = torch.randn(args.batch_size, FORMAT.out_channels, N_POINTS, generator=generator)
    rows = []
    for modes, width in args.settings:
        models = build_models(modes, width, args.layers, args.seed)
        train = best_of(
            {k: training_step(m, inputs, targets) for k, m in models.items()}, args.timed_steps, args.repeats, warmup=3
        )
        infer = best_of(
            {k: inference(m, inputs[:1]) for k, m in models.items()}, 5 * args.timed_steps, args.repeats, warmup=3
        )
        ours, theirs = args.batch_size / train["physml"], args.batch_size / train["neuraloperator"]
        rows.append([
            f"{modes} / {width}", " / ".join(f"{n_parameters(m):,}" for m in models.values()),
            f"{ours:.0f}", f"{theirs:.0f}", f"**{ours / theirs:.2f}×**",
            f"{infer['physml'] * 1e3:.2f} ms", f"{infer['neuraloperator'] * 1e3:.2f} ms",
            f"**{infer['neuraloperator'] / infer['physml']:.2f}×**",
        ])  # fmt: skip
    header = ["modes / width", "parameters (physml / neuraloperator)", "physml training samples/s",
              "neuraloperator training samples/s", "physml / neuraloperator", "physml forward, batch 1",
              "neuraloperator forward, batch 1", "neuraloperator / physml"]  # fmt: skip
    print(markdown_table(header, rows))


def report_layers(args: argparse.Namespace) -> None:
    print(f"\n### One spectral convolution, width -> width, {N_POINTS} points: forward + backward at batch "
          f"{args.batch_size}, forward at batch 1; best of {args.repeats}\n")  # fmt: skip
    rows = []
    for modes, width in args.settings:
        torch.manual_seed(args.seed)
        layers = spectral_layers(modes, width)
        inputs = torch.randn(args.batch_size, width, N_POINTS)
        both = best_of(
            {k: gradient(layer, inputs) for k, layer in layers.items()}, 5 * args.timed_steps, args.repeats, warmup=3
        )
        forward = best_of({k: inference(layer, inputs[:1]) for k, layer in layers.items()}, 5 * args.timed_steps,
                          args.repeats, warmup=3)  # fmt: skip
        for name in layers:
            rows.append([f"{modes} / {width}", name, f"{both[name] * 1e3:.3f} ms", f"{forward[name] * 1e3:.3f} ms"])
    print(markdown_table(["modes / width", "layer", f"forward + backward, batch {args.batch_size}",
                          "forward, batch 1"], rows))  # fmt: skip


def report_accuracy(args: argparse.Namespace) -> None:
    config = load_config("schrodinger-1d").with_trajectories(args.n_trajectories)
    with tempfile.TemporaryDirectory(prefix="physml-bench-fno-") as folder:
        path = Path(folder) / "s1d.h5"
        build_dataset(config, path, workers=1, progress=False)
        train, val = load_split(path, "train"), load_split(path, "val")
    persistence = nrmse(val[0][:, : FORMAT.n_channels], val[1]).mean().item()
    seeds = [args.seed + k for k in range(args.seeds)]
    print(f"\n### Accuracy: {args.steps} AdamW steps (lr 1e-3) of batch {args.batch_size}, both models on the same "
          f"batches from the same seed (seeds {', '.join(map(str, seeds))}); schrodinger-1d, {args.n_trajectories} "
          f"trajectories: {len(train[0])} training windows, {len(val[0])} validation windows (1 -> 1, dt = 0.1); "
          f"persistence nRMSE {persistence:.4f}\n")  # fmt: skip
    rows = []
    for modes, width in args.settings:
        results: dict[str, list[dict[str, float]]] = {}
        for seed in seeds:
            batches = batch_order(len(train[0]), args.batch_size, args.steps, seed)
            for name, model in build_models(modes, width, args.layers, seed).items():
                results.setdefault(name, []).append(train_and_validate(model, train, val, batches))
        for name, runs in results.items():
            mse, error = (
                " / ".join(format(r[key], spec) for r in runs) for key, spec in (("mse", ".3e"), ("nrmse", ".4f"))
            )
            rows.append(
                [f"{modes} / {width}", name, mse, error, f"{sum(r['seconds'] for r in runs) / len(runs):.1f} s"]
            )
    header = ["modes / width", "model", "validation MSE (per seed)", "validation nRMSE (per seed)", "training time"]
    print(markdown_table(header, rows))


#: ``MODES:WIDTH`` on the benchmark's grid.
setting = functools.partial(modes_width, max_modes=N_POINTS // 2 + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", type=setting, nargs="+", default=[(16, 32), (32, 64)],
                        help="MODES:WIDTH pairs (default: 16:32 32:64)")  # fmt: skip
    parser.add_argument("--layers", type=int, default=4, help="Fourier layers (default: 4)")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per step (default: 32)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions; the best is kept (default: 5)")
    parser.add_argument("--timed-steps", type=int, default=10, help="training steps per timing (default: 10)")
    parser.add_argument("--steps", type=int, default=300, help="training steps of the accuracy run (default: 300)")
    parser.add_argument("--n-trajectories", type=int, default=32, help="schrodinger-1d trajectories (default: 32)")
    parser.add_argument("--seed", type=int, default=0, help="first initialisation and batch-order seed (default: 0)")
    parser.add_argument(
        "--seeds", type=int, default=2, help="accuracy runs, seeds --seed, --seed + 1, ... (default: 2)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 16:32 only, few steps, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.settings, args.repeats, args.timed_steps, args.steps, args.n_trajectories = [(16, 32)], 1, 2, 20, 16
        args.seeds = 1
    for name in ("layers", "batch_size", "repeats", "timed_steps", "steps", "n_trajectories", "seeds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} = {getattr(args, name)} is invalid: must be >= 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    neuralop_fno_class()  # fail early, with the install command, when neuraloperator is missing
    from importlib.metadata import version

    print(machine())
    print(f"neuraloperator {version('neuraloperator')}, torch threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.2f} (1 min) at the start")  # fmt: skip

    report_speed(args)
    report_layers(args)
    report_accuracy(args)
    print(f"\nload average {os.getloadavg()[0]:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
