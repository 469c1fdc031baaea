"""Small machines: a trained surrogate in int8 and in ternary weights (BitNet b1.58-style): error, size, CPU latency.

    python benchmarks/quantization.py runs/architectures/budget-300000/transformer-seed0/best.pt \\
        --data data/schrodinger-1d.h5 [--finetune-epochs 1] [--lr 3e-4]

Variants of the checkpoint's model, each scored on the test split (one-step nRMSE, physical units) and timed
at batch 1 (best of 30, float32 activations, this process's threads):

- ``float32``: as trained.
- ``int8 weights``: every weight tensor of two or more dimensions (linear and convolution weights, the experts'
  matrices, spectral weights; not embedding tables, norms, biases, or a GRU / LSTM cell's weights, which
  PyTorch's fused recurrent kernels read directly) rounded to int8 with a float32 scale per output channel
  (absmax), run as float32 (weight-only: storage, and the error it costs). No retraining.
- ``int8 dynamic``: ``torch.ao.quantization.quantize_dynamic``: every ``nn.Linear`` in int8 with int8 kernels
  (weights per output channel, activations quantised per call); everything else stays float32. No
  retraining. Left out for a model without linear layers (FNO, U-Net, ResNet: all convolutions).
- ``ternary``: the same weight tensors replaced by ``s * round(clip(W / s, -1, 1))`` with
  ``s = mean |W|`` per tensor (BitNet b1.58's absmean quantiser): each weight is -s, 0 or +s. No retraining.
- ``ternary, fine-tuned``: the same quantiser in the forward pass with straight-through gradients (the float
  weights are kept as latent weights and updated), ``--finetune-epochs`` on the training split at ``--lr``, then
  frozen to ternary (quantisation-aware fine-tuning, from the trained float weights).

Size: bytes to store the weights: float32 4 B each; int8 1 B each plus a float32 scale per output channel;
ternary log2(3) = 1.58 bits each (packed 5 to a byte: 1.6 bits) plus a scale per tensor; what is not quantised
at 4 B. The ternary model runs with float32 kernels here (CPU PyTorch has no ternary matmul): its latency
is the float model's; the gain is memory.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
from pathlib import Path

import torch
from _report import best_of, machine, markdown_table
from torch import nn
from torch.nn.utils import parametrize
from torch.utils.data import DataLoader

from physml.training.evaluate import one_step_errors  # the scores physml evaluate gives
from physml.training.surrogate import Surrogate, load_surrogate


class Int8(nn.Module):
    """Parametrisation ``W -> s round(W / s)``, ``s = max |W| / 127`` per output channel (axis 0 for linear
    and convolution weights, axis 1 for spectral and expert weights, whose axis 0 is the input)."""

    def __init__(self, axis: int) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        dims = [d for d in range(weight.ndim) if d != self.axis]
        scale = weight.abs().amax(dim=dims, keepdim=True).clamp_min(1e-12) / 127
        return (weight / scale).round().clamp(-127, 127) * scale


class Ternary(nn.Module):
    """Parametrisation ``W -> s round(clip(W / s, -1, 1))``, ``s = mean |W|``, with straight-through gradients."""

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        scale = weight.abs().mean().clamp_min(1e-8)
        quantised = (weight / scale).round().clamp(-1, 1) * scale
        return quantised.detach() + (weight - weight.detach())  # forward: exactly quantised; backward: identity


def quantisable(model: nn.Module) -> list[tuple[nn.Module, str]]:
    """The weight tensors to make ternary: every parameter of two or more dimensions, except embedding tables (rows
    looked up, not multiplied), the modality table, and recurrent cells' weights."""
    found = []
    for module in model.modules():
        if isinstance(module, nn.Embedding | nn.RNNBase):
            continue
        for name, parameter in module.named_parameters(recurse=False):
            if parameter.ndim >= 2 and name != "modality":
                found.append((module, name))
    return found


def ternary(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    for module, name in quantisable(model):
        parametrize.register_parametrization(module, name, Ternary())
    return model


def int8_weights(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model)
    for module, name in quantisable(model):
        out_axis = 0 if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d) else 1
        parametrize.register_parametrization(module, name, Int8(out_axis))
    return frozen(model)


def frozen(model: nn.Module) -> nn.Module:
    """The parametrised model with its ternary weights written in (plain modules again)."""
    model = copy.deepcopy(model)
    for module in [m for m in model.modules() if parametrize.is_parametrized(m)]:
        for name in list(module.parametrizations):
            parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return model


def size_bytes(model: nn.Module, variant: str) -> int:
    if variant == "int8 dynamic":  # quantised modules hold no parameters any more: the rest is float32
        return sum(_int8_bytes(m) for m in model.modules()) + 4 * sum(p.numel() for p in model.parameters())
    total = 4 * sum(p.numel() for p in model.parameters())
    for module, name in quantisable(model) if variant != "float32" else ():
        weight = getattr(module, name)
        if variant.startswith("ternary"):  # 5 trits per byte and one scale, instead of 4 B each
            total += math.ceil(weight.numel() / 5) + 4 - 4 * weight.numel()
        else:  # int8 weights: 1 B each and a scale per output channel
            out_axis = 0 if isinstance(module, nn.Linear | nn.Conv1d | nn.Conv2d) else 1
            total += weight.numel() + 4 * weight.shape[out_axis] - 4 * weight.numel()
    return total


def _int8_bytes(module: nn.Module) -> int:
    weight = getattr(module, "weight", None)
    if callable(weight) and type(module).__module__.startswith("torch.ao.nn.quantized"):
        w = weight()
        return w.numel() + 4 * w.shape[0] + (4 * w.shape[0] if getattr(module, "bias", None) is not None else 0)
    return 0


def int8(model: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of every ``nn.Linear``, one scale per output channel. ``torch.ao.quantization`` is
    deprecated in favour of the separate ``torchao`` package, which physml does not depend on; it still works in
    torch 2.13, and its warnings say so."""
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        return quantize_dynamic(copy.deepcopy(model), {nn.Linear: per_channel_dynamic_qconfig})


def latency_ms(surrogate: Surrogate, model: nn.Module, batch: dict) -> float:
    fields, constant = batch["input_fields"][:1], batch.get("constant_fields")
    constant = None if constant is None else constant[:1]
    context = surrogate.context({k: v[:1] for k, v in batch.items() if k in ("text", "image")})

    @torch.no_grad()
    def predict() -> None:
        surrogate.format.predict(model, fields, constant, context)

    return 1e3 * best_of({"predict": predict}, 1, 30)["predict"]


def finetune(surrogate: Surrogate, model: nn.Module, data: Path, epochs: int, lr: float) -> nn.Module:
    """Quantisation-aware fine-tuning: MSE of the normalised next state, AdamW, cosine decay to 0."""
    train = surrogate.windows(data, split="train")
    loader = DataLoader(train, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * len(loader)))
    model.train()
    for _ in range(epochs):
        for batch in loader:
            fields, constant = batch["input_fields"], batch.get("constant_fields")
            prediction = surrogate.format.predict(model, fields, constant, surrogate.context(batch))
            loss = torch.nn.functional.mse_loss(prediction, batch["output_fields"][:, 0])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
    return model.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--finetune-epochs", type=int, default=1, help="quantisation-aware epochs (0: skip)")
    parser.add_argument("--lr", type=float, default=3e-4)
    args = parser.parse_args()
    print(machine())
    surrogate = load_surrogate(args.checkpoint)
    test = surrogate.windows(args.data, split="test")
    batch = next(iter(DataLoader(test, batch_size=1)))
    base = surrogate.model.float().eval()
    variants = {"float32": base, "int8 weights": int8_weights(base)}
    if any(isinstance(m, nn.Linear) for m in base.modules()):
        variants["int8 dynamic"] = int8(base)
    variants["ternary"] = frozen(ternary(base))
    if args.finetune_epochs:
        tuned = finetune(surrogate, ternary(base), args.data, args.finetune_epochs, args.lr)
        variants[f"ternary, fine-tuned {args.finetune_epochs} epoch(s)"] = frozen(tuned)
    rows, reference = [], None
    for label, model in variants.items():
        error = one_step_errors(dataclasses.replace(surrogate, model=model), test, torch.device("cpu"))["nrmse"]
        size = size_bytes(model, label)
        latency = latency_ms(surrogate, model, batch)
        reference = reference or (error, size, latency)
        rows.append([label, f"{error:.4g}", f"{error / reference[0]:.2f}×", f"{size / 1024:.1f}",
                     f"{size / reference[1]:.3f}×", f"{latency:.3f}", f"{latency / reference[2]:.2f}×"])  # fmt: skip
    header = ["variant", "one-step nRMSE", "vs float32", "weights, KiB", "vs float32", "latency ms (batch 1)", "vs"]
    print(f"{args.checkpoint}, test split of {args.data}\n")
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
