"""The training loop: seeded, resumable mid-epoch, bf16 autocast on GPU, CSV log, best and last checkpoints.

Resuming is exact on CPU: the order of samples in epoch ``e`` is a permutation
drawn from ``(seed, e)``, and the last checkpoint records how many batches of
its epoch were done, so a resumed run sees the same batches with the same
weights and optimiser state, and continues the same loss curve.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from physml.datasets.samples import WindowDataset
from physml.models import FieldFormat, build_model, load_checkpoint, save_checkpoint
from physml.training.config import TrainConfig
from physml.training.constraints import constraint_adapter

__all__ = ["Trainer", "resolve_device"]

LOG_COLUMNS = ("step", "epoch", "lr", "loss")


def resolve_device(name: str) -> torch.device:
    """``"auto"``: CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Train the configured model on a dataset file, writing ``log.csv``, ``last.pt`` and ``best.pt`` to ``out``."""

    def __init__(
        self,
        config: TrainConfig,
        out: str | os.PathLike[str],
        *,
        init_from: str | os.PathLike[str] | None = None,
        progress: bool = True,
    ) -> None:
        self.config, self.out, self.progress = config, Path(out), progress
        self.init_from = None if init_from is None else Path(init_from)
        self.device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        data = config.data
        window = {
            "n_input": data.n_input,
            "n_output": config.unroll,
            "fields": data.fields,
            "constant_fields": data.constant_fields,
            "normalize": data.normalize,
        }
        self.train_set = WindowDataset(data.path, split="train", **window)
        self.val_set = WindowDataset(data.path, split="val", **window)
        if len(self.train_set) == 0:
            raise ValueError(f"{data.path} has no training windows for n_input={data.n_input}, unroll={config.unroll}")
        self.format = FieldFormat(
            data.n_input, len(self.train_set.channel_names), len(self.train_set.constant_channel_names)
        )
        params = {**config.model.params, "in_channels": self.format.in_channels}
        params["out_channels"] = self.format.out_channels
        if config.model.name == "persistence":
            params["offset"] = self.format.latest
        self.model = build_model(config.model.name, params).to(self.device)
        physics = [name for name in config.losses if name != "data"]
        self.physics = constraint_adapter(self.train_set, physics)
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay
        )
        self.batches_per_epoch = math.ceil(len(self.train_set) / data.batch_size)
        total = config.epochs * self.batches_per_epoch
        warmup = min(config.optim.warmup_steps, max(total - 1, 1))

        def schedule(step: int) -> float:  # linear warm-up, then cosine decay to zero
            if step < warmup:
                return (step + 1) / warmup
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(total - warmup, 1))))

        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule)
        self.step, self.epoch, self.batch_in_epoch, self.best = 0, 0, 0, math.inf
        self.columns = [*LOG_COLUMNS, *(f"loss_{name}" for name in config.losses)]

    # -- data ----------------------------------------------------------------------------
    def _order(self, epoch: int) -> list[int]:
        generator = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.train_set), generator=generator).tolist()

    def _loader(self, dataset: WindowDataset, indices: list[int]) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.config.data.batch_size,
            sampler=indices,
            num_workers=self.config.data.num_workers,
        )

    # -- one batch ------------------------------------------------------------------------
    def losses(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Each weighted term for a batch (``data``: MSE of the normalised fields over the unrolled steps)."""
        batch = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in batch.items()}
        batch["parameters"] = {k: v.to(self.device) for k, v in batch["parameters"].items()}
        fields, constant = batch["input_fields"], batch.get("constant_fields")
        predictions = []
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")
        with autocast:
            for step in range(self.config.unroll):
                prediction = self.model(self.format.inputs(fields, constant)).float()  # (B, C, *space)
                predictions.append(prediction)
                if step < self.config.unroll - 1:
                    fed_back = prediction.detach() if self.config.pushforward else prediction
                    fields = self.format.advance(fields, fed_back)
        stacked = torch.stack(predictions, dim=1)  # (B, unroll, C, *space)
        if self.config.pushforward and self.config.unroll > 1:
            stacked = stacked[:, -1:]  # only the last step carries gradient: train on it
            target = batch["output_fields"][:, -1:]
        else:
            target = batch["output_fields"]
        terms = {"data": F.mse_loss(stacked, target)} if "data" in self.config.losses else {}
        if self.physics is not None:
            terms.update(self.physics(batch, predictions[0]))
        return terms

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(self.config.losses[name] * value for name, value in terms.items())

    # -- checkpoints ----------------------------------------------------------------------
    def _save(self, name: str) -> None:
        save_checkpoint(
            self.out / name,
            self.model,
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            step=self.step,
            epoch=self.epoch,
            batch_in_epoch=self.batch_in_epoch,
            best=self.best,
            rng=torch.get_rng_state(),
            config=self.config.to_dict(),
        )

    def _resume(self) -> None:
        last = self.out / "last.pt"
        if not last.exists():
            if self.init_from is not None:  # fine-tuning: the same architecture, weights from another run
                model, _ = load_checkpoint(self.init_from, device=self.device)
                if type(model) is not type(self.model) or model.config != self.model.config:
                    raise ValueError(
                        f"init_from = {str(self.init_from)!r} holds a {type(model).__name__} {model.config}; "
                        f"this config builds a {type(self.model).__name__} {self.model.config}"
                    )
                self.model.load_state_dict(model.state_dict())
            return
        model, extra = load_checkpoint(last, device=self.device)
        if extra.get("config") != self.config.to_dict():
            raise ValueError(f"{last} was written by another training config; use a new --out or delete it")
        self.model.load_state_dict(model.state_dict())
        self.optimizer.load_state_dict(extra["optimizer"])
        self.scheduler.load_state_dict(extra["scheduler"])
        self.step, self.epoch = extra["step"], extra["epoch"]
        self.batch_in_epoch, self.best = extra["batch_in_epoch"], extra["best"]
        torch.set_rng_state(extra["rng"])
        log = self.out / "log.csv"
        if log.exists():  # drop rows written after the checkpoint, so the curve continues without duplicates
            with log.open() as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= self.step]
            with log.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=self.columns)
                writer.writeheader()
                writer.writerows(rows)

    # -- the loop --------------------------------------------------------------------------
    def evaluate(self) -> float:
        """Mean weighted loss over the validation split (the training split if it is empty)."""
        dataset = self.val_set if len(self.val_set) else self.train_set
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for batch in self._loader(dataset, list(range(len(dataset)))):
                n = batch["input_fields"].shape[0]
                total += float(self.total(self.losses(batch))) * n
                count += n
        self.model.train()
        return total / count

    def train(self, *, stop_after: int | None = None) -> dict[str, float]:
        """Run (or resume) training; ``stop_after`` steps ends early (as an interruption would)."""
        self.out.mkdir(parents=True, exist_ok=True)
        self._resume()
        log = self.out / "log.csv"
        new_log = not log.exists()
        bar = tqdm(
            total=self.config.epochs * self.batches_per_epoch, initial=self.step, disable=not self.progress,
            desc="training", unit="step",
        )  # fmt: skip
        with log.open("a", newline="") as handle, bar:
            writer = csv.DictWriter(handle, fieldnames=self.columns)
            if new_log:
                writer.writeheader()
            self.model.train()
            while self.epoch < self.config.epochs:
                order = self._order(self.epoch)[self.batch_in_epoch * self.config.data.batch_size :]
                for batch in self._loader(self.train_set, order):
                    terms = self.losses(batch)
                    loss = self.total(terms)
                    if not torch.isfinite(loss):
                        raise FloatingPointError(f"loss became {float(loss)} at step {self.step}; lower optim.lr")
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
                    self.optimizer.step()
                    self.scheduler.step()
                    self.step += 1
                    self.batch_in_epoch += 1
                    row = {"step": self.step, "epoch": self.epoch, "lr": self.scheduler.get_last_lr()[0]}
                    row |= {"loss": loss.item(), **{f"loss_{k}": v.item() for k, v in terms.items()}}
                    writer.writerow(row)
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss.item():.3g}")
                    if self.step % self.config.checkpoint_every == 0:
                        handle.flush()
                        self._save("last.pt")
                    if stop_after is not None and self.step >= stop_after:
                        handle.flush()
                        self._save("last.pt")
                        return {"step": self.step, "loss": loss.item()}
                self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                score = self.evaluate()
                if score < self.best:
                    self.best = score
                    self._save("best.pt")
                handle.flush()
                self._save("last.pt")
        return {"step": self.step, "val_loss": self.best}
