"""``physml train CONFIG.yaml --out DIR``: train a surrogate; rerun to resume; under ``torchrun``, data-parallel."""

from __future__ import annotations

import argparse
import dataclasses
import json

from physml.cli.arguments import add_progress, number, path

__all__ = ["register"]

_EXAMPLE = """\
example config (YAML):
  data: {path: data/s1d.h5, n_input: 1, batch_size: 32, normalize: rms, in_memory: false}
  # data also takes time_stride: k (train on every k-th save), train_fraction: f (that share of the
  # training trajectories, a fixed nested subset), and train_split / val_split: other splits or parts of one
  # (e.g. extrapolation[:0.5] and extrapolation[0.5:0.75]: fine-tune to a held-out parameter range)
  # modalities: {text: true, image: [H, W], video: {colormap: RdBu_r, limits: [-3, 3]}} (multimodal_transformer;
  # video films each window of a 2D field, and model.params.read_fields: false withholds the arrays)
  model:
    name: fno         # or complex_fno, resnet, persistence
    params: {modes: [24], width: 32, n_layers: 4}
    residual: true    # predict the increment over the latest state
    squash: {potential: 2.0}   # the model sees asinh(V / 2)
  losses: {data: 1.0, schrodinger_norm: 0.1, schrodinger_residual: 0.01}
  optim: {lr: 0.001, weight_decay: 0.0001, warmup_steps: 100, grad_clip: 1.0}
  # optim also takes freeze: [trunk] and freeze_steps: N (hold those parameters fixed for the first N steps of
  # a fine-tune with --init; without freeze_steps, the whole run)
  epochs: 20
  unroll: 1           # > 1: train on autoregressive rollouts
  pushforward: false  # with unroll > 1: gradient through the last step only
  input_noise: 0.0    # > 0: Gaussian noise of this std on the (normalised) inputs of training steps
  seed: 0
  device: auto        # cuda when available (bf16 autocast), else cpu"""

_SCALE = """

TensorBoard: tensorboard --logdir RUN/tensorboard   (train/loss*, train/lr per step, val/loss per epoch)

data-parallel on W processes (DDP; gloo on CPU, nccl with one GPU each), the same command under torchrun:
  torchrun --standalone --nproc_per_node=2 -m physml train CONFIG.yaml --out DIR
data.batch_size is the global batch, split across the processes (it must be >= W): the run takes the same
steps as in one process, logs global mean losses, and rank 0 writes the log and the checkpoints."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a surrogate model on a dataset",
        description="Train a registered model (fno, complex_fno, unet, resnet, persistence, multimodal_transformer, "
        "moe_transformer, gru, lstm, ssm, diffusion, neural_ode, hamiltonian_ode, equivariant_cnn, group_fno, "
        "parameter_estimator: the parameters named in modalities.parameters from the fields) on a "
        "physml dataset, or multiphysics_transformer on several at once (data: {family: {path: ..., weight: ...}}: "
        "each batch from one, in proportion to the weights). The run writes log.csv, TensorBoard events "
        "(tensorboard/), last.pt and best.pt to --out; running the same command again resumes from last.pt. "
        "--init starts from a checkpoint's weights: the same model, a wider or deeper transformer grown from it "
        "(it starts as the smaller one), or a multiphysics model with more families.",
        epilog=_EXAMPLE + _SCALE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("config", metavar="NAME_OR_CONFIG.yaml",
                        help="a shipped training config (e.g. fno-schrodinger-1d; physml/training/configs/) "
                        "or a YAML file")  # fmt: skip
    parser.add_argument("--out", required=True, type=path, help="run directory")
    parser.add_argument("--init", type=path, metavar="CHECKPOINT",
                        help="fine-tune (or grow, or transfer to new families): start from these weights")  # fmt: skip
    parser.add_argument("--lr", type=number, metavar="LR",
                        help="peak learning rate, instead of the config's optim.lr; when resuming, the run goes on "
                        "from last.pt at this rate (e.g. lower, after a run stopped on a NaN loss)")  # fmt: skip
    parser.add_argument("--epochs", type=int, metavar="N",
                        help="train for N epochs instead of the config's (the learning-rate schedule spans them); "
                        "a run resumes only with the epochs it started with")  # fmt: skip
    parser.add_argument("--device", metavar="DEVICE",
                        help="cpu, cuda, cuda:N or auto, instead of the config's device")  # fmt: skip
    add_progress(parser)
    parser.set_defaults(handler=_train)


def _train(args: argparse.Namespace) -> int:
    from physml.training import Trainer, load_train_config

    config = load_train_config(args.config)
    changes = {k: v for k, v in (("epochs", args.epochs), ("device", args.device)) if v is not None}
    config = dataclasses.replace(config, **changes)  # the config checks the values
    trainer = Trainer(config, args.out, init_from=args.init, progress=args.progress, lr=args.lr)
    result = trainer.train()
    if trainer.rank == 0:  # under torchrun, one report for the whole job
        print(json.dumps({"out": str(args.out), **result}))
    return 0
