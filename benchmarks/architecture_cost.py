"""Cost of each sequence architecture against sequence length: time and memory, with fitted log-log slopes.

    python benchmarks/architecture_cost.py [--lengths 256 512 1024 2048 4096 8192 16384] [--dim 64] [--depth 2] \\
        [--models transformer linear-attention gru lstm ssm moe] [--out runs/architecture-cost] [--plot cost.png]

Each model is the causal 1D form of its registered model (``causal: true``; one token per sample,
``patch: 1``; ``dim`` channels, ``depth`` blocks; fields only): a series of ``N`` samples is ``N`` tokens.
For each model and length, in a fresh process (so that one measurement's memory is not another's):

- ``train``: seconds for a forward and backward pass on one series (batch 1), best of 3 after a warm-up;
- ``infer``: seconds for a forward pass without gradients (batch 1), best of 3;
- ``next token``: seconds to produce the output at sample ``N`` from the state the first ``N - 1`` left
  (``model.step``): the scans' hidden state (GRU, LSTM, SSM), softmax attention's key/value cache, linear
  attention's running sums. Without a cache an attention model re-reads the context: the ``infer`` pass;
- peak memory of the inference pass, then of the training pass: the rise of the process's resident-set
  high-water mark over its value before the pass (the first pass of each kind in a fresh process: what it
  needs on top of the model and the input, allocator and library overheads included).

The slopes are least-squares fits of ``log(cost)`` on ``log(N)`` over ``N >= --fit-from`` (below it fixed
costs dominate): 2 for a cost quadratic in ``N``, 1 for linear. A length is skipped once the previous one
took longer than ``--max-seconds`` per training pass, and reference attention where its stored weights would
pass ``--max-gb``. Results go to ``--out``/cost.json and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
from pathlib import Path

import torch
from _report import best_of, machine, markdown_table, nearest_width

from physml.models import build_model
from physml.models.registry import model_shell

#: Architectures: registered model and its options beyond the common causal 1D ones.
MODELS: dict[str, tuple[str, dict]] = {
    "transformer": ("multimodal_transformer", {"attention": "sdpa"}),
    "transformer-reference": ("multimodal_transformer", {"attention": "reference"}),
    "linear-attention": ("multimodal_transformer", {"attention": "linear"}),
    "moe": ("moe_transformer", {"n_experts": 4, "top_k": 2}),
    "gru": ("gru", {"bidirectional": False}),
    "lstm": ("lstm", {"bidirectional": False}),
    "ssm": ("ssm", {"bidirectional": False}),
}
SCANS = ("gru", "lstm", "ssm")


def params(label: str, length: int, dim: int, depth: int) -> tuple[str, dict]:
    name, options = MODELS[label]
    common = {"in_channels": 1, "out_channels": 1, "field_size": (length,), "patch": 1, "dim": dim, "depth": depth,
              "n_heads": 4, "n_kv_heads": 2, "modalities": (), "missing_ok": (), "causal": True}  # fmt: skip
    return name, {**common, **options}


def build(label: str, length: int, dim: int, depth: int) -> torch.nn.Module:
    return build_model(*params(label, length, dim, depth))


def equal_weight_dim(label: str, target: int, depth: int) -> int:
    """The ``dim`` (a multiple of 16 for attention: 4 heads of a rotary width divisible by 4) whose weight count is
    nearest ``target`` (counted on shells: nothing allocated)."""

    def count(dim: int) -> int:
        return sum(p.numel() for p in model_shell(*params(label, 256, dim, depth)).parameters())

    return nearest_width(count, range(2, 513, 2) if label in SCANS else range(16, 513, 16), target)


def stored_weights_gb(length: int, depth: int, heads: int = 4) -> float:
    """Memory the reference attention's stored ``(N, N)`` scores and weights take for backward, all blocks."""
    return 2 * heads * length**2 * 4 * depth / 1e9


def resident_peak_mb() -> float:
    """The process's resident-set high-water mark (``ru_maxrss``, kB on Linux), in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def best(call, repeats: int = 3) -> float:
    """Seconds per call, best of ``repeats`` after a warm-up."""
    return best_of({"call": call}, 1, repeats)["call"]


def measure(label: str, length: int, dim: int, depth: int) -> dict[str, float]:
    """One model at one length (run in a fresh process: the memory high-water mark is the process's)."""
    torch.manual_seed(0)
    model = build(label, length, dim, depth)
    x = torch.randn(1, 1, length)
    result = {"weights": sum(p.numel() for p in model.parameters())}

    def infer():
        with torch.no_grad():
            model(x)

    def train():
        model(x).square().mean().backward()

    for key, call in (("infer_peak_mb", infer), ("train_peak_mb", train)):
        before = resident_peak_mb()
        call()
        result[key] = resident_peak_mb() - before
    result["infer_s"], result["train_s"] = best(infer), best(train)
    model.eval()
    _, state = model.step(x[..., :-1])  # the state after N - 1 samples (prefill): a key/value cache for attention
    result["next_token_s"] = best(lambda: model.step(x[..., -1:], state), repeats=20)
    return result


def slope(lengths: list[int], values: list[float]) -> float:
    """Least-squares slope of ``log(values)`` on ``log(lengths)``."""
    xs, ys = [math.log(n) for n in lengths], [math.log(max(v, 1e-9)) for v in values]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 512, 1024, 2048, 4096, 8192, 16384])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--weights", type=float, default=1e5,
                        help="size each model to about this many weights (default 1e5); 0: --dim for all")  # fmt: skip
    parser.add_argument("--dim", type=int, default=64, help="the width of every model with --weights 0")
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--fit-from", type=int, default=1024, help="fit slopes over lengths >= this (default 1024)")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="stop a model's sweep past this train time")
    parser.add_argument("--max-gb", type=float, default=8.0, help="skip reference attention beyond this memory")
    parser.add_argument("--out", type=Path, default=Path("runs/architecture-cost"))
    parser.add_argument("--plot", type=Path, help="also draw the costs against N to this image")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "LENGTH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.dim, args.depth)))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "cost.json"
    results = json.loads(path.read_text()) if path.exists() else {}  # a rerun keeps what was measured
    dims = {m: equal_weight_dim(m, int(args.weights), args.depth) if args.weights else args.dim for m in args.models}
    print(machine())
    for label in args.models:
        for length in sorted(args.lengths):
            key = f"{label} {length} dim {dims[label]} depth {args.depth}"
            if key in results:
                continue
            if label == "transformer-reference" and stored_weights_gb(length, args.depth) > args.max_gb:
                print(f"{label:>22} N={length:>6}: skipped, its (N, N) weights would take "
                      f"{stored_weights_gb(length, args.depth):.0f} GB > --max-gb {args.max_gb:g}")  # fmt: skip
                break
            done = [results[f"{label} {n} dim {dims[label]} depth {args.depth}"] for n in args.lengths if n < length]
            if done and max(r["train_s"] for r in done) > args.max_seconds:
                break
            command = [sys.executable, __file__, "--one", label, str(length), "--dim", str(dims[label]),
                       "--depth", str(args.depth)]  # fmt: skip
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results[key] = json.loads(out.strip().splitlines()[-1])
            path.write_text(json.dumps(results, indent=1))
            r = results[key]
            print(f"{label:>22} N={length:>6}: train {r['train_s']:.4f} s, infer {r['infer_s']:.4f} s, "
                  f"next token {r['next_token_s'] * 1e3:.3f} ms, peak train {r['train_peak_mb']:.0f} MB, "
                  f"infer {r['infer_peak_mb']:.0f} MB", flush=True)  # fmt: skip
    print(report(results, args, dims))
    if args.plot:
        plot(results, args, dims, args.plot)
        print(f"wrote {args.plot}")


def plot(results: dict, args: argparse.Namespace, dims: dict[str, int], path: Path) -> None:
    """Training time and training peak memory against N, log-log, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    quantities = (("train_s", "training pass (s)"), ("next_token_s", "next token given N (s)"),
                  ("train_peak_mb", "training peak memory (MB)"))  # fmt: skip
    for ax, (quantity, label) in zip(axes, quantities):
        for model in args.models:
            keys = {n: f"{model} {n} dim {dims[model]} depth {args.depth}" for n in sorted(args.lengths)}
            found = {n: results[k][quantity] for n, k in keys.items() if k in results}
            ax.loglog(list(found), list(found.values()), "o-", label=model, ms=3)
        ax.set(xlabel="sequence length N (tokens)", ylabel=label)
        ax.grid(True, which="both", alpha=0.3)
    n = sorted(args.lengths)
    for power, style in ((1, ":"), (2, "--")):  # guides: slope 1 and slope 2 through the first transformer point
        anchor = results.get(f"transformer {n[0]} dim {dims.get('transformer', 0)} depth {args.depth}")
        if anchor:
            axes[0].loglog(n, [anchor["train_s"] * (m / n[0]) ** power for m in n], "k" + style, lw=0.8,
                           label=f"~N^{power}")  # fmt: skip
    axes[0].legend(fontsize=7)
    fig.suptitle(f"cost against sequence length: causal 1D models of ~{args.weights:.0g} weights, batch 1, "
                 f"{args.depth} blocks")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def report(results: dict, args: argparse.Namespace, dims: dict[str, int]) -> str:
    header = [
        "model",
        "dim",
        "weights",
        *(f"N={n}" for n in sorted(args.lengths)),
        "slope",
        "slope of peak memory",
        "slope, last octave",
    ]
    tables = []
    quantities = (("train_s", "training pass, s"), ("infer_s", "inference pass, s"),
                  ("next_token_s", "next token given N, ms"), ("train_peak_mb", "training peak, MB"))  # fmt: skip
    for quantity, unit in quantities:
        rows = []
        for label in args.models:
            keys = {n: f"{label} {n} dim {dims[label]} depth {args.depth}" for n in sorted(args.lengths)}
            found = {n: results[key] for n, key in keys.items() if key in results}
            if not found:
                continue
            fit = [n for n in found if n >= args.fit_from]
            scale = 1e3 if quantity == "next_token_s" else 1
            cells = [f"{found[n][quantity] * scale:.4g}" for n in found] + ["—"] * (len(args.lengths) - len(found))
            memory = {"infer_s": "infer_peak_mb", "train_s": "train_peak_mb"}.get(quantity)
            fits = [slope(fit, [found[n][q] for n in fit]) if len(fit) > 1 and q else None for q in (quantity, memory)]
            top = sorted(found)[-2:]  # the last octave: closest to the asymptotic exponent
            fits.append(slope(top, [found[n][quantity] for n in top]) if len(top) == 2 else None)
            slopes = ["—" if value is None else f"{value:.2f}" for value in fits]
            weights = str(next(iter(found.values()))["weights"])
            rows.append([label, str(dims[label]), weights, *cells, *slopes])
        tables.append(f"{unit} (slopes over N >= {args.fit_from}; memory: the peak of the same pass)\n\n"
                      + markdown_table(header, rows))  # fmt: skip
    return "\n\n".join(tables)


if __name__ == "__main__":
    main()
