"""Several processes, one model: DistributedDataParallel under ``torchrun`` (gloo on CPU, NCCL on GPUs).

``torchrun --nproc_per_node N -m optical ...`` starts N copies of the job; each finds its rank in the
environment, trains on its share of every global batch, and only rank 0 evaluates and writes.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def rank_and_world() -> tuple[int, int]:
    """(this process's rank, number of processes): (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    return rank_and_world()[0] == 0


def init_from_environment() -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes in WORLD_SIZE/RANK/MASTER_ADDR; no-op without it.

    Uses NCCL when CUDA is present (one GPU per process, by LOCAL_RANK), gloo otherwise.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return rank_and_world()


def shard(batch: list[int], rank: int, world: int) -> list[int]:
    """This rank's pairs of a global batch: every ``world``-th index starting at ``rank``."""
    return batch[rank::world]


def barrier() -> None:
    """Wait until every rank reaches this point (nothing outside a process group)."""
    if rank_and_world()[1] > 1:
        dist.barrier()


def gather(value) -> list:
    """``value`` from every rank, in rank order (``[value]`` outside a process group)."""
    rank, world = rank_and_world()
    if world == 1:
        return [value]
    values = [None] * world
    dist.all_gather_object(values, value)
    return values


def mean_over_ranks(value: torch.Tensor) -> torch.Tensor:
    """The mean of a scalar tensor over ranks (itself outside a process group)."""
    if rank_and_world()[1] == 1:
        return value
    total = value.detach().clone()
    dist.all_reduce(total)
    return total / dist.get_world_size()
