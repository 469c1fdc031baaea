"""The training loop: seeded, resumable mid-epoch, data-parallel under ``torchrun``, bf16 autocast on GPU.

A run writes ``log.csv`` (every loss term and the learning rate, per step),
``val.csv`` (the validation loss after each epoch and every ``val_every`` steps),
TensorBoard events in ``tensorboard/`` (the same scalars as ``train/...`` and
``val/loss``), and the checkpoints ``last.pt`` and ``best.pt``. A joint run
(several datasets) logs each batch's dataset and each dataset's validation loss.

Resuming is exact on CPU: the order of samples in epoch ``e`` is a permutation
drawn from ``(seed, e)``, and the last checkpoint records how many batches of
its epoch were done, so a resumed run sees the same batches with the same
weights and optimiser state, and continues the same loss curve. Log rows and
TensorBoard events written after that checkpoint are dropped (``purge_step``).

Under ``torchrun --nproc_per_node=W`` the same command trains data-parallel
(DDP: Gloo on CPU, NCCL with one GPU per process). ``data.batch_size`` stays
the *global* batch: each batch of the epoch's permutation is split across the
ranks, rank ``r`` taking its samples ``r, r + W, ...``, and each rank's mean
loss is weighted by its share of the batch before DDP averages the gradients.
A step is thus the one-process step up to rounding: the loss curve, the
learning-rate schedule and the checkpoints do not depend on ``W``, and a run
may resume with another ``W``. Logged losses are global means; validation is
sharded and summed over the ranks. Rank 0 alone writes the log, TensorBoard,
the progress bar and the checkpoints, which hold the unwrapped model.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import ConcatDataset, DataLoader, Dataset

from physml.interrupts import interruptible
from physml.models import build_model, load_checkpoint, load_into, save_checkpoint
from physml.models.registry import config_changes
from physml.training import distributed
from physml.training.conditioning import Conditioning, modality_transforms, model_params, train_conditioning
from physml.training.config import TrainConfig
from physml.training.constraints import physics_terms
from physml.training.data import field_format, in_saved_units, training_samples, training_sources
from physml.training.distributed import resolve_device
from physml.training.guards import (
    TrainingDivergedError,
    check_model_options,
    nonfinite_loss,
    nonfinite_weight,
    resume_lr,
    set_peak_lr,
)
from physml.training.mixture import epoch_batches
from physml.training.optimizer import decay_groups, frozen_parameters, warmup_cosine
from physml.training.runlog import RunLog

__all__ = ["Trainer", "decay_groups", "field_format", "resolve_device", "training_samples"]

LOG_COLUMNS = ("step", "epoch", "lr", "loss")


class Trainer:
    """Train the configured model on a dataset file, writing logs, ``last.pt`` and ``best.pt`` to ``out``.

    Under ``torchrun`` it joins the process group in ``__init__`` (``rank``
    and ``world_size`` say where it stands) and leaves it when :meth:`train`
    ends. ``lr`` replaces ``config.optim.lr`` (the peak learning rate), also
    when resuming: the run goes on from ``last.pt`` at that rate (after a
    :class:`~physml.training.guards.TrainingDivergedError`, a lower one).
    """

    def __init__(
        self,
        config: TrainConfig,
        out: str | os.PathLike[str],
        *,
        init_from: str | os.PathLike[str] | None = None,
        progress: bool = True,
        lr: float | None = None,
    ) -> None:
        if lr is not None:
            config = dataclasses.replace(config, optim=dataclasses.replace(config.optim, lr=lr))  # checks lr
        self.config, self.out, self.progress, self.lr_given = config, Path(out), progress, lr is not None
        self.init_from = None if init_from is None else Path(init_from)
        self.device, self._owns_process_group = distributed.init_from_env(resolve_device(config.device))
        self.rank, self.world_size = distributed.rank(), distributed.world_size()
        self.batch_size = next(iter(config.datasets.values())).batch_size  # (a joint run's datasets share it)
        distributed.check_batch(self.batch_size)
        torch.manual_seed(config.seed)  # every rank draws the same initial weights
        modalities = config.modalities
        extra = {"text": modalities.text, "image_size": modalities.image, "seed": config.seed}

        def transforms(path: str, train: bool) -> list[Any]:
            return modality_transforms(path, vary=train and modalities.vary, **extra)

        # Each dataset by name ("" for a run on one); a joint run reads them through one index space.
        self.sources = training_sources(config, transforms=transforms)
        initial = self._initial()  # fine-tuning: the model and extras of init_from, its units and its tokenizer
        if initial is not None:
            self.sources = in_saved_units(self.sources, initial[1], config)
        paths, saved = [s.data.path for s in self.sources.values()], initial and initial[1].get("conditioning")
        self.conditioning = train_conditioning(paths, modalities, seed=config.seed, saved=saved)
        self.train_set, self.val_set, self.format = next((s.train, s.val, s.format) for s in self.sources.values())
        self.joined = ConcatDataset([s.train for s in self.sources.values()]) if config.joint else self.train_set
        params = model_params(config, self.sources, self.conditioning)
        self.model = build_model(config.model.name, params).to(self.device)
        if initial is not None:  # its weights, or a model grown from them (copied again if the run resumes)
            self.model = load_into(self.model, initial[0], seed=config.seed).to(self.device)
        check_model_options(self.model, config)
        self.net = distributed.wrap(self.model, self.device, partial=config.joint)  # what a step calls (DDP or not)
        # Each dataset's physics terms: in a joint run, the named terms its family defines.
        self.physics = physics_terms(self.sources, [name for name in config.losses if name != "data"])
        self.optimizer = torch.optim.AdamW(
            decay_groups(self.model, config.optim.weight_decay), lr=config.optim.lr, weight_decay=0.0
        )
        self.batches_per_epoch = sum(math.ceil(len(s.train) / self.batch_size) for s in self.sources.values())
        total = config.epochs * self.batches_per_epoch
        self.scheduler = warmup_cosine(self.optimizer, total=total, warmup=config.optim.warmup_steps)
        self.frozen = frozen_parameters(self.model, config.optim.freeze)  # held while step < freeze_steps
        self.step, self.epoch, self.batch_in_epoch, self.best = 0, 0, 0, math.inf
        self.saved_step: int | None = None  # the step last.pt holds
        self.validated: int | None = None  # the step last validated
        # A model's own terms (a mixture of experts' balancing loss, weighted by the model) and logged metrics.
        self.auxiliary = getattr(self.model, "auxiliary_terms", ())
        self.metrics = getattr(self.model, "auxiliary_metric_names", ())
        self.columns = [*LOG_COLUMNS, *(f"loss_{name}" for name in (*config.losses, *self.auxiliary)), *self.metrics]
        self.columns += ["dataset"] if config.joint else []

    # -- data ----------------------------------------------------------------------------
    def _shares(self, epoch: int, start: int) -> tuple[list[list[int]], list[float], list[str]]:
        """This rank's part of each global batch of ``epoch`` from batch ``start`` on, its share of the batch, and
        the batch's dataset."""
        sizes = {name: len(s.train) for name, s in self.sources.items()}
        weights = {name: s.data.weight for name, s in self.sources.items()} if self.config.joint else None
        plan = epoch_batches(sizes, weights, batch_size=self.batch_size, seed=self.config.seed, epoch=epoch)[start:]
        parts, shares = [], []
        for _, batch in plan:
            part = distributed.shard(batch)
            # The last batch may hold fewer samples than there are ranks. A rank left without one still
            # steps (DDP needs every rank in every backward), on a repeated sample with weight 0.
            parts.append(part or batch[:1])
            shares.append(len(part) / len(batch))
        return parts, shares, [name for name, _ in plan]

    def _loader(self, dataset: Dataset, batches: list[list[int]]) -> DataLoader:
        workers = next(iter(self.config.datasets.values())).num_workers
        return DataLoader(dataset, batch_sampler=batches, num_workers=workers)

    # -- one batch ------------------------------------------------------------------------
    def losses(
        self, batch: dict[str, Any], *, model: nn.Module | None = None, source: str = ""
    ) -> dict[str, torch.Tensor]:
        """Each weighted term for a batch (``data``: MSE of the normalised fields over the unrolled steps).

        ``model`` is the module to call: the unwrapped :attr:`model` by default;
        training passes its DDP wrapper, which averages gradients across ranks.
        ``source``: the dataset (family) of a joint run the batch comes from.
        """
        model = self.model if model is None else model
        fmt, physics = self.sources[source].format, self.physics[source]
        batch = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in batch.items()}
        batch["parameters"] = {k: v.to(self.device) for k, v in batch["parameters"].items()}
        fields, constant = batch["input_fields"], batch.get("constant_fields")
        context = self.conditioning(batch, self.device) | ({"family": source} if self.config.joint else {})
        autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda")
        if getattr(self.model, "generative", False):  # the model scores itself: its denoising loss
            target = fmt.target(fields, batch["output_fields"][:, 0])
            with autocast:
                denoised = model(fmt.inputs(fields, constant), target=target, **context)
            terms = {"data": denoised.loss.float()} if "data" in self.config.losses else {}
            if physics is not None:  # on the clean state the denoiser's output implies
                terms.update(physics(batch, fmt.state(fields, denoised.estimate.float())))
            return terms
        if getattr(self.model, "estimates_parameters", False):  # inverse: the parameters from the fields
            observed = fmt.inputs(fields, constant) if fmt.n_input else batch["output_fields"][:, 0]
            with autocast:
                output = model(observed).float()  # (B, 2 P): means and log-variances
            return {"data": self.model.loss(output, context["parameters"].float())}
        if self.config.input_noise > 0 and self.model.training:  # noise injection: training steps only
            fields = fields + self.config.input_noise * torch.randn_like(fields)
        predictions = []
        if getattr(self.model, "continuous", False):  # one solve to every target time the file gives
            times = batch["output_time"] - batch["input_time"][:, -1:]  # (B, unroll), any spacing
            stacked = model(fmt.inputs(fields, constant), times=times).float()  # (B, unroll, C, *space)
            terms = {"data": F.mse_loss(stacked, batch["output_fields"])} if "data" in self.config.losses else {}
            if physics is not None:
                terms.update(physics(batch, stacked[:, 0]))
            return terms
        with autocast:
            for step in range(self.config.unroll):
                prediction = fmt.predict(model, fields, constant, context).float()  # (B, C, *space)
                predictions.append(prediction)
                if step < self.config.unroll - 1:
                    fed_back = prediction.detach() if self.config.pushforward else prediction
                    fields = fmt.advance(fields, fed_back)
        stacked = torch.stack(predictions, dim=1)  # (B, unroll, C, *space)
        if self.config.pushforward and self.config.unroll > 1:
            stacked = stacked[:, -1:]  # only the last step carries gradient: train on it
            target = batch["output_fields"][:, -1:]
        else:
            target = batch["output_fields"]
        terms = {"data": F.mse_loss(stacked, target)} if "data" in self.config.losses else {}
        if physics is not None:
            terms.update(physics(batch, predictions[0]))
        if self.auxiliary and self.model.training:  # the model's own terms, from the calls above
            terms.update(self.model.auxiliary_losses())
        return terms

    def total(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        return sum(self.config.losses.get(name, 1.0) * value for name, value in terms.items())  # model terms: 1

    # -- checkpoints ----------------------------------------------------------------------
    def _initial(self) -> tuple[nn.Module, dict[str, Any]] | None:
        if self.init_from is None:
            return None
        if not self.init_from.is_file():
            raise ValueError(f"init_from = {str(self.init_from)!r} is invalid: no such checkpoint file")
        return load_checkpoint(self.init_from, device=self.device)

    def _save(self, name: str) -> None:
        bad = nonfinite_weight(self.model)  # every rank holds the same weights: all of them stop together
        if bad is not None:
            raise self._diverged(self.step, *bad)
        if self.rank != 0:
            return
        save_checkpoint(
            self.out / name,
            self.model,
            optimizer=self.optimizer.state_dict(),
            scheduler=self.scheduler.state_dict(),
            step=self.step,
            epoch=self.epoch,
            batch_in_epoch=self.batch_in_epoch,
            best=self.best,
            validated=self.validated,
            rng=torch.get_rng_state(),
            config=self.config.to_dict(),
            format=self.format.to_dict(),
            conditioning=self.conditioning.to_dict(),
            normalization=self.train_set.normalization_dict(),
            **({"sources": {name: s.to_dict() for name, s in self.sources.items()}} if self.config.joint else {}),
        )

    def _resume(self) -> None:
        last = self.out / "last.pt"
        if not last.exists():
            return
        model, extra = load_checkpoint(last, device=self.device)
        saved_lr = resume_lr(extra.get("config"), self.config.to_dict(), lr_given=self.lr_given, last=last)
        if model.config != self.model.config:  # e.g. a grown run resumed without its --init
            differ = ", ".join(config_changes(model.config, self.model.config))
            raise ValueError(f"{last} holds another model than this run builds ({differ}); resume with "
                             "the same command (and --init) that started it")  # fmt: skip
        if Conditioning.from_dict(extra.get("conditioning")) != self.conditioning:
            raise ValueError(f"{last} was trained with another tokenizer of the descriptions; use a new --out")
        self.model.load_state_dict(model.state_dict())
        self.optimizer.load_state_dict(extra["optimizer"])
        self.scheduler.load_state_dict(extra["scheduler"])
        self.step, self.epoch = extra["step"], extra["epoch"]
        self.batch_in_epoch, self.best = extra["batch_in_epoch"], extra["best"]
        self.validated = extra.get("validated")
        torch.set_rng_state(extra["rng"])
        if saved_lr != self.config.optim.lr:
            set_peak_lr(self.optimizer, self.scheduler, self.config.optim.lr)
        self.saved_step = self.step

    # -- the loop --------------------------------------------------------------------------
    def evaluate(self) -> float:
        """Mean weighted loss per sample over the validation split (the training split if it is empty); for a
        joint run, the datasets' means weighted by their ``weight``, as training weighs them."""
        return self._combined(self.evaluate_sources())

    def _combined(self, scores: dict[str, float]) -> float:
        if not self.config.joint:  # (one dataset: its weight plays no part)
            return scores[""]
        weights = {name: s.data.weight for name, s in self.sources.items()}
        return sum(weights[name] * score for name, score in scores.items()) / sum(weights.values())

    def evaluate_sources(self) -> dict[str, float]:
        """:meth:`evaluate` for each dataset by name. Under ``torchrun`` each rank scores its strided shard and
        the sums are added over the ranks, so every rank gets the same values."""
        self.model.eval()
        scores, size = {}, self.batch_size
        # The same noise at every validation (a generative model's loss draws noise levels): scores compare
        # across epochs, and the training run's random stream is left as it was.
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.config.seed)
            for name, source in self.sources.items():
                dataset = source.val if len(source.val) else source.train
                indices, total, count = distributed.shard(range(len(dataset))), 0.0, 0
                for batch in self._loader(dataset, [indices[i : i + size] for i in range(0, len(indices), size)]):
                    n = batch["input_fields"].shape[0]
                    total += float(self.total(self.losses(batch, source=name))) * n
                    count += n
                sums = torch.tensor([total, count], dtype=torch.float64, device=self.device)  # NCCL: on the GPU
                total, count = distributed.sum_over_ranks(sums).tolist()
                scores[name] = total / count
        self.model.train()
        return scores

    def train(self, *, stop_after: int | None = None) -> dict[str, float]:
        """Run (or resume) training; ``stop_after`` steps ends early (as an interruption would).

        Returns ``{"step", "val_loss"}`` (the best validation loss), or
        ``{"step", "loss"}`` when stopped early. Under ``torchrun``, the process
        group this trainer joined is left at the end.
        """
        finished = False
        try:
            result = self._train(stop_after)
            finished = True
            return result
        finally:
            if self._owns_process_group:
                distributed.teardown(finished=finished)
                self._owns_process_group = False

    def _validate(self, log: RunLog) -> None:
        """Score the validation split(s), log it, and keep ``best.pt`` if it is the best so far (once a step)."""
        if self.validated == self.step:  # (an epoch that ends on a multiple of val_every)
            return
        self.validated, scores = self.step, self.evaluate_sources()
        score = self._combined(scores)
        log.validation(self.step, score, scores if self.config.joint else {})
        if score < self.best:
            self.best = score
            self._save("best.pt")

    def _checkpoint(self, log: RunLog) -> None:
        log.flush()
        self._save("last.pt")
        self.saved_step = self.step

    def _diverged(self, step: int, what: str, value: float) -> TrainingDivergedError:
        last, lr = self.out / "last.pt", self.config.optim.lr
        return TrainingDivergedError(step, what, value, last=last, saved_step=self.saved_step, lr=lr)

    def _train(self, stop_after: int | None) -> dict[str, float]:
        self._resume()  # first: a checkpoint that cannot be used leaves no run folder behind
        self.out.mkdir(parents=True, exist_ok=True)
        total = self.config.epochs * self.batches_per_epoch
        with (
            RunLog(self.out, self.columns, step=self.step, total=total, main=self.rank == 0, progress=self.progress,
                   datasets=list(self.sources) if self.config.joint else [])
            as log, interruptible() as check_interrupt,
        ):  # fmt: skip
            self.model.train()
            while self.epoch < self.config.epochs:
                parts, shares, names = self._shares(self.epoch, self.batch_in_epoch)
                for batch, share, name in zip(self._loader(self.joined, parts), shares, names):
                    check_interrupt()  # a Ctrl-C stops the run here, between steps
                    terms = self.losses(batch, model=self.net, source=name)
                    loss = self.total(terms)
                    # The global batch means: each rank's means weighted by its share, summed over the ranks.
                    means = distributed.sum_over_ranks(torch.stack([loss.detach(), *terms.values()]).double() * share)
                    values = means.tolist()  # the same on every rank: a NaN on one stops all of them at this step
                    bad = nonfinite_loss(values[0], dict(zip(terms, values[1:])))
                    if bad is not None:
                        raise self._diverged(self.step + 1, *bad)
                    self.optimizer.zero_grad(set_to_none=True)
                    # DDP averages the W ranks' gradients; scaled by W * share, that average is the gradient of
                    # the global batch's mean loss, however unevenly the batch splits (exactly 1 in one process).
                    (loss * (self.world_size * share)).backward()
                    if self.config.optim.freeze_steps is None or self.step < self.config.optim.freeze_steps:
                        for parameter in self.frozen:  # no gradient: AdamW neither moves nor decays them
                            parameter.grad = None
                    norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.optim.grad_clip)
                    if not torch.isfinite(norm):  # the reduced gradients: the same on every rank
                        raise self._diverged(self.step + 1, "the gradient norm", float(norm))
                    self.optimizer.step()
                    self.scheduler.step()
                    if hasattr(self.model, "after_step"):  # e.g. a diffusion model's EMA of its weights
                        self.model.after_step()
                    self.step += 1
                    self.batch_in_epoch += 1
                    row = {"step": self.step, "epoch": self.epoch, "lr": self.scheduler.get_last_lr()[0]}
                    row |= {"loss": values[0], **{f"loss_{k}": v for k, v in zip(terms, values[1:])}}
                    if self.metrics:
                        row |= self.model.auxiliary_metrics()
                    row |= {"dataset": name} if self.config.joint else {}
                    log.step(row)
                    if self.config.val_every and self.step % self.config.val_every == 0:
                        self._validate(log)
                    if self.step % self.config.checkpoint_every == 0:
                        self._checkpoint(log)
                    if stop_after is not None and self.step >= stop_after:
                        self._checkpoint(log)
                        return {"step": self.step, "loss": values[0]}
                self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                self._validate(log)
                self._checkpoint(log)
        return {"step": self.step, "val_loss": self.best}
