"""Fused attention (``scaled_dot_product_attention``) against the written-out formula in the multimodal transformer.

Two copies of one :class:`~physml.models.MultimodalTransformer` with the same
weights, ``attention="sdpa"`` and ``attention="reference"``, train on the same
batch at each sequence length ``N`` (``--lengths``). A sequence holds every
modality: 16 text tokens (the last 4 of each description are pads, so the
key padding mask is in play), 16 image patches (a 16 x 16 image in 4 x 4
patches) and ``N - 32`` field patches (a 1D field of ``4 (N - 32)`` points,
``patch = 4``). Model: ``dim = 64``, 4 query heads sharing 2 key/value heads
(head_dim 16), ``depth`` 2, SwiGLU, batch ``--batch-size``. On CUDA the step
runs under bf16 autocast, as the trainer does; float32 on CPU.

Measured in one run:
  * training throughput: a forward pass, MSE loss and backward (no optimiser
    step), in tokens/s (batch x N per step), best of ``--repeats`` with the
    two variants timed in turn (the order alternating), and the ratio
    sdpa / reference;
  * peak memory of one such step above what was allocated before it. On CUDA:
    ``torch.cuda.max_memory_allocated``. On CPU: the running total of the
    allocations and frees that ``torch.profiler`` records with
    ``profile_memory=True`` (every tensor allocation of the step, in order;
    not the process's resident memory);
  * the attention weights the written-out formula keeps for backward,
    computed: ``depth x batch x n_heads x N^2`` elements (its softmax output,
    which backward needs, float32 also under autocast, plus the bf16 copy
    autocast makes for the product with V); the fused kernels keep an
    ``O(N)`` log-sum-exp instead.

    python benchmarks/attention.py [--device cuda|cpu] [--lengths 128 256 512 1024 2048] [--repeats 5]
    python benchmarks/attention.py --quick   # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable

import torch
from _report import best_of, machine, markdown_table, peak_bytes
from torch import nn
from torch.nn import functional as F

from physml.models import MultimodalConfig, MultimodalTransformer

TEXT, IMAGE, IMAGE_PATCH, PATCH = 16, 16, 4, 4  # text tokens, image side, image patch, field patch
N_EXTRA = TEXT + (IMAGE // IMAGE_PATCH) ** 2  # tokens that are not field patches


def build(n_tokens: int, device: torch.device, seed: int) -> dict[str, nn.Module]:
    """The two variants of a model whose sequences hold ``n_tokens``, with the same weights."""
    config = MultimodalConfig(
        in_channels=3, out_channels=2, field_size=(PATCH * (n_tokens - N_EXTRA),), patch=PATCH, dim=64, depth=2,
        n_heads=4, n_kv_heads=2, vocab_size=256, text_length=TEXT, image_channels=1, image_size=(IMAGE, IMAGE),
        image_patch=IMAGE_PATCH, modality_dropout=0.0,
    )  # fmt: skip
    torch.manual_seed(seed)
    fused = MultimodalTransformer(config)
    nn.init.normal_(fused.head.weight, std=0.02)  # a trained head: gradients reach every layer
    reference = MultimodalTransformer(dataclasses.replace(config, attention="reference"))
    reference.load_state_dict(fused.state_dict())
    return {"sdpa": fused.to(device), "reference": reference.to(device)}


def training_step(
    model: nn.Module, batch: dict[str, torch.Tensor], target: torch.Tensor, autocast: bool
) -> Callable[[], None]:
    """Forward, MSE loss and backward on one batch."""
    device = target.device

    def step() -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            out = model(batch["x"], text=batch["text"], image=batch["image"])
        F.mse_loss(out.float(), target).backward()
        model.zero_grad(set_to_none=True)  # freed within the step: a measured step starts from the same state
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return step


def make_batch(n_tokens: int, batch_size: int, device: torch.device) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    n_points = PATCH * (n_tokens - N_EXTRA)
    text = torch.randint(1, 256, (batch_size, TEXT), generator=g)
    text[:, -4:] = 0  # padded descriptions: the key padding mask is used
    batch = {
        "x": torch.randn(batch_size, 3, n_points, generator=g),
        "text": text,
        "image": torch.randn(batch_size, 1, IMAGE, IMAGE, generator=g),
    }
    target = torch.randn(batch_size, 2, n_points, generator=g)
    return {k: v.to(device) for k, v in batch.items()}, target.to(device)


def mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_device = "cuda" if torch.cuda.is_available() else "cpu"
    parser.add_argument("--device", default=default_device, help=f"torch device (default: {default_device})")
    parser.add_argument("--lengths", type=int, nargs="+", default=[128, 256, 512, 1024, 2048],
                        help="tokens per sequence (default: 128 256 512 1024 2048)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=1, help="sequences per step (default: 1)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions; the best is kept (default: 5)")
    parser.add_argument("--timed-steps", type=int, default=3, help="steps per timing (default: 3)")
    parser.add_argument("--seed", type=int, default=0, help="initialisation seed (default: 0)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--quick", action="store_true", help="smoke run: lengths 128 and 256, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.lengths, args.repeats, args.timed_steps = [128, 256], 1, 1
    for name in ("batch_size", "repeats", "timed_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} = {getattr(args, name)} is invalid: must be >= 1")
    if min(args.lengths) <= N_EXTRA:
        parser.error(f"--lengths {args.lengths} is invalid: each must be > {N_EXTRA} (text and image tokens)")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    autocast = device.type == "cuda"
    print(machine())
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    print(f"device {device}{gpu}, {'bf16 autocast' if autocast else 'float32'}, torch threads "
          f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.2f} (1 min) at the start")  # fmt: skip
    print(f"\n### Multimodal transformer training step (forward + backward), batch {args.batch_size}, dim 64, "
          f"4 query / 2 key-value heads, depth 2; best of {args.repeats}\n")  # fmt: skip
    memory = "peak allocated (CUDA)" if device.type == "cuda" else "peak allocated (profiler)"
    header = ["tokens", "sdpa tokens/s", "reference tokens/s", "sdpa / reference", f"sdpa {memory}",
              f"reference {memory}", "reference / sdpa", "stored attention weights (reference)"]  # fmt: skip
    rows = []
    for n_tokens in args.lengths:
        models = build(n_tokens, device, args.seed)
        batch, target = make_batch(n_tokens, args.batch_size, device)
        runs = {name: training_step(model, batch, target, autocast) for name, model in models.items()}
        seconds = best_of(runs, args.timed_steps, args.repeats)
        peak = {name: peak_bytes(run, device) for name, run in runs.items()}
        speed = {name: args.batch_size * n_tokens / s for name, s in seconds.items()}
        element = 4 + (2 if autocast else 0)  # float32 softmax output (+ its bf16 copy under autocast)
        weights = 2 * args.batch_size * 4 * n_tokens**2 * element  # depth x B x n_heads x N^2 elements
        rows.append([
            str(n_tokens), f"{speed['sdpa']:,.0f}", f"{speed['reference']:,.0f}",
            f"**{speed['sdpa'] / speed['reference']:.2f}×**", mib(peak["sdpa"]), mib(peak["reference"]),
            f"**{peak['reference'] / peak['sdpa']:.1f}×**", mib(weights),
        ])  # fmt: skip
        del models, runs
    print(markdown_table(header, rows))
    print(f"\nload average {os.getloadavg()[0]:.2f} (1 min) at the end")


if __name__ == "__main__":
    main()
