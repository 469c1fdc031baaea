"""Data-parallel training under ``torchrun``: process-group set-up, rank checks, reductions and sharding.

Every function here is a no-op (or the single-process answer) when no process
group is initialised, so the trainer runs the same code in one process and in
``W`` processes. ``torchrun`` announces itself through the ``WORLD_SIZE``,
``RANK`` and ``LOCAL_RANK`` environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch
from torch import distributed as dist
from torch import nn

__all__ = [
    "check_batch",
    "init_from_env",
    "is_main",
    "launched_by_torchrun",
    "rank",
    "resolve_device",
    "shard",
    "sum_over_ranks",
    "teardown",
    "world_size",
    "wrap",
]


def resolve_device(name: str) -> torch.device:
    """``"auto"``: CUDA when available, else CPU; ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` as given, if present."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise ValueError(f"device = {name!r} is invalid: choose cpu, cuda, cuda:N or auto")
    if device.type == "cuda" and not (torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()):
        raise ValueError(f"device = {name!r} is invalid: this machine has no such CUDA device (use cpu or auto)")
    return device


def check_batch(batch_size: int) -> None:
    """``ValueError`` unless the global batch gives every process a sample at least."""
    if batch_size < world_size():
        raise ValueError(
            f"data.batch_size = {batch_size} is invalid with {world_size()} processes: it is the global "
            f"batch, split across the processes, so it must be >= {world_size()}"
        )


def launched_by_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` (or ``python -m torch.distributed.run``)."""
    return all(name in os.environ for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"))


def init_from_env(device: torch.device) -> tuple[torch.device, bool]:
    """Join the ``torchrun`` process group, if launched by it; returns this rank's device and whether it joined.

    Parameters
    ----------
    device
        The configured device. Under ``torchrun`` a CUDA device becomes
        ``cuda:LOCAL_RANK`` (one GPU per process, NCCL); on the CPU the
        processes talk through Gloo and share the cores evenly.

    Returns
    -------
    device, created
        ``created`` is ``True`` when this call initialised the process group,
        so the caller knows to :func:`teardown` it.
    """
    if not launched_by_torchrun() or dist.is_initialized():
        return device, False
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        # torchrun sets OMP_NUM_THREADS=1 for every process; divide the cores instead, so
        # 2 processes on 16 cores use 8 threads each and 2 on 2 cores use one (no oversubscription).
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ["WORLD_SIZE"]))
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        torch.set_num_threads(max(1, cores // local_world))
        backend = "gloo"
    dist.init_process_group(backend)
    return device, True


def teardown(*, finished: bool = False) -> None:
    """Leave the process group.

    ``finished`` (every rank got here without an error): wait for all of them first, so that no
    rank tears its connections down while another still uses them (a Gloo peer that vanishes
    mid-exchange can abort the other process on exit). No barrier after an error: it would wait
    forever for the ranks that failed; destroying the group makes their next collective fail
    instead, so the whole job stops.
    """
    if dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def rank() -> int:
    """This process's rank; 0 without a process group."""
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    """Number of processes; 1 without a process group."""
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Whether this process writes the logs and checkpoints (rank 0)."""
    return rank() == 0


def wrap(model: nn.Module, device: torch.device, *, partial: bool = False) -> nn.Module:
    """``model`` in :class:`~torch.nn.parallel.DistributedDataParallel` under a process group, else itself.

    DDP averages the gradients over the ranks during ``backward``; the caller
    keeps the unwrapped ``model`` to save, evaluate and load weights into.
    ``partial``: a step uses only some of the weights (a joint run: one family's
    embedding and head), which DDP must then look for after each backward.
    """
    if not dist.is_initialized():
        return model
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=partial)


def sum_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """Element-wise sum of ``values`` over the ranks (a copy; ``values`` itself when alone)."""
    if not dist.is_initialized():
        return values
    values = values.clone()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def shard(indices: Sequence[int]) -> list[int]:
    """This rank's strided share ``indices[rank::world]`` of a sequence every rank holds the same."""
    return list(indices[rank() :: world_size()])
