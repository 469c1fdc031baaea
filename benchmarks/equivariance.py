"""The equivariant models' cost against their plain twins (and the escnn model's exported form), in one run.

    python benchmarks/equivariance.py [--size 96] [--batch 16] [--repeats 3] [--quick]

Six models on ``--batch`` random states of Re ψ, Im ψ and V on a ``--size``² periodic grid (what the
``equivariant-schrodinger-2d`` recipe reads):

- ``equivariant_cnn`` as the recipe builds it (D4, 8 regular fields = 64 channels, 4 blocks, kernel 5);
- its ``export()`` (inference only: plain convolutions with the expanded filters);
- ``resnet`` of equal parameters (the same depth and kernel; the width that matches the weight count);
- ``resnet`` of equal width (64 channels: the same convolutions per step, 18× the weights);
- ``group_fno`` as its recipe builds it (D4, 4 regular fields = 32 channels, modes ``|k| <= 12``, 4 layers) and
  an ``fno`` of the same depth and modes at the width that matches its weight count.

Also the error under a 45° rotation, which no square grid holds exactly: smooth fields that vanish towards
the edges, turned by bilinear interpolation, compared inside the inscribed disc, for a C8 model (N = 8: 45° is
in its group, only the grid breaks it), the D4 recipe model (45° is not in D4) and the plain twin.

Measured: inference (eval, no gradient) and one training step (forward, MSE, backward, AdamW step), seconds
per batch, best of ``--repeats``, the models timed in turn; samples per second from those. Prints the
equivariance error ``‖f(gx) − g f(x)‖ / ‖f(x)‖`` of each over the grid's 90° rotations and reflections
(untrained: what the architecture guarantees).
"""

from __future__ import annotations

import argparse

import torch
from _report import best_of, machine, markdown_table, nearest_width

from physml.models import EquivariantCNN, EquivariantCNNConfig, build_model
from physml.models.registry import model_shell

ACTIONS = {
    "rotation 90°": lambda x: x.rot90(1, (-2, -1)),
    "rotation 180°": lambda x: x.rot90(2, (-2, -1)),
    "reflection": lambda x: x.flip(-1),
    "diagonal reflection": lambda x: x.transpose(-2, -1),
}


def weights(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def equal_weight_width(target: int, name: str = "resnet", params: dict | None = None) -> int:
    """The ``width`` of model ``name`` (its other ``params`` fixed; a 2-D ResNet of 4 blocks of kernel 5 from 3 to 2
    channels by default) whose weight count is nearest ``target``. Counted on shells: nothing is allocated."""
    params = (
        {"in_channels": 3, "out_channels": 2, "ndim": 2, "n_blocks": 4, "kernel_size": 5} if params is None else params
    )
    return nearest_width(lambda width: weights(model_shell(name, {**params, "width": width})), range(2, 129), target)


def turn(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """``x`` rotated by ``degrees`` about the grid's centre, bilinear, zero outside."""
    angle = torch.tensor(degrees * torch.pi / 180, dtype=x.dtype)
    c, s = torch.cos(angle), torch.sin(angle)
    theta = torch.stack([torch.stack([c, -s, torch.zeros(())]), torch.stack([s, c, torch.zeros(())])])
    grid = torch.nn.functional.affine_grid(theta.expand(x.shape[0], 2, 3), list(x.shape), align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def off_grid_errors(size: int) -> list[list[str]]:
    """``‖f(Rx) − R f(x)‖ / ‖f(x)‖`` inside the inscribed disc for R = 45° (and 90° as a check)."""
    torch.manual_seed(1)
    r = torch.linspace(-1, 1, size)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    envelope = torch.exp(-(xx**2 + yy**2) / 0.08)
    smooth = torch.nn.functional.avg_pool2d(torch.randn(4, 3, size, size), 9, stride=1, padding=4)
    x = smooth / smooth.std() * envelope
    disc = (xx**2 + yy**2) < 0.6**2
    small = {"width": 2, "n_blocks": 2, "kernel_size": 5}
    models = {
        "equivariant_cnn C8": EquivariantCNN(EquivariantCNNConfig(3, 2, group="rotations", N=8, **small)).he_init(),
        "equivariant_cnn D4": EquivariantCNN(EquivariantCNNConfig(3, 2, N=4, **small)).he_init(),
        "resnet (width 16)": build_model(
            "resnet", {"in_channels": 3, "out_channels": 2, "ndim": 2, "width": 16, "n_blocks": 2, "kernel_size": 5}
        ),
    }
    rows = []
    for name, model in models.items():
        model.eval()
        with torch.no_grad():
            y = model(x)
            errors = [float(((model(turn(x, a)) - turn(y, a)) * disc).norm() / (y * disc).norm()) for a in (45, 90)]
        rows.append([name, f"{errors[0]:.2e}", f"{errors[1]:.2e}"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=96, help="grid points per side (default: 96)")
    parser.add_argument("--batch", type=int, default=16, help="states per batch (default: 16)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions, best kept (default: 3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 32², batch 2, one repeat")
    args = parser.parse_args()
    if args.quick:
        args.size, args.batch, args.repeats = 32, 2, 1
    for name in ("size", "batch", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} = {getattr(args, name)} is invalid: must be >= 1")
    print(machine())
    torch.manual_seed(0)
    config = EquivariantCNNConfig(3, 2, group="rotations+reflections", N=4, width=8, n_blocks=4, kernel_size=5)
    steerable = EquivariantCNN(config).he_init()  # (all layers active, as after training)
    plain = {"width": equal_weight_width(weights(steerable)), "n_blocks": 4, "kernel_size": 5}
    models = {
        "equivariant_cnn (D4, 64 channels)": steerable,
        f"resnet, equal weights (width {plain['width']})": build_model(
            "resnet", {"in_channels": 3, "out_channels": 2, "ndim": 2, **plain}
        ),
        "resnet, equal width (64)": build_model(
            "resnet", {"in_channels": 3, "out_channels": 2, "ndim": 2, "width": 64, "n_blocks": 4, "kernel_size": 5}
        ),
    }
    modes = min(12, args.size // 2 - 1)  # the group-fno-schrodinger-2d recipe's, where the grid holds them
    spectral = {"in_channels": 3, "out_channels": 2, "n_layers": 4}
    models["group_fno (D4, 32 channels)"] = build_model("group_fno", {**spectral, "modes": modes, "width": 4})
    fno = {**spectral, "modes": [2 * modes, modes]}
    width = equal_weight_width(weights(models["group_fno (D4, 32 channels)"]), "fno", fno)
    models[f"fno, equal weights (width {width})"] = build_model("fno", {**fno, "width": width})
    x = torch.randn(args.batch, 3, args.size, args.size)
    target = torch.randn(args.batch, 2, args.size, args.size)

    def train_step(model: torch.nn.Module, optimiser: torch.optim.Optimizer):
        def run() -> None:
            optimiser.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(model(x), target).backward()
            optimiser.step()

        return run

    training = {name: train_step(m.train(), torch.optim.AdamW(m.parameters(), lr=1e-4)) for name, m in models.items()}
    train_times = best_of(training, 1, args.repeats)
    for m in models.values():
        m.eval()
    inference = {**models, "equivariant_cnn, exported": steerable.export()}

    def infer(model: torch.nn.Module):
        def run() -> None:
            with torch.no_grad():
                model(x)

        return run

    infer_times = best_of({name: infer(m) for name, m in inference.items()}, 1, args.repeats)
    rows = []
    for name, model in inference.items():
        with torch.no_grad():
            y = model(x)
            worst = max(float((model(act(x)) - act(y)).norm() / y.norm()) for act in ACTIONS.values())
        train = train_times.get(name)
        rows.append([name, f"{weights(model):,}", f"{worst:.1e}", f"{1e3 * infer_times[name]:.0f}",
                     f"{args.batch / infer_times[name]:.1f}",
                     "—" if train is None else f"{1e3 * train:.0f}",
                     "—" if train is None else f"{args.batch / train:.1f}"])  # fmt: skip
    print(f"\n{args.batch} states of {args.size}², best of {args.repeats}, {torch.get_num_threads()} threads\n")
    header = ["model", "weights", "worst equivariance error", "inference ms / batch", "inference samples/s",
              "training ms / step", "training samples/s"]  # fmt: skip
    print(markdown_table(header, rows))
    print(
        f"\nOff the grid's symmetries (untrained, width 2, {args.size}², bilinear turns, inside the inscribed disc):\n"
    )
    print(markdown_table(["model", "45° rotation error", "90° by interpolation"], off_grid_errors(args.size)))


if __name__ == "__main__":
    main()
