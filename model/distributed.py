"""Data-parallel training with PyTorch DDP, launched by ``torchrun``.

``torchrun --nproc_per_node N -m finescale.app.cli train … --distributed`` starts N processes; each
draws the same global batch from the shared seed, keeps its own shard of it (rank r takes
samples r, r + N, …) and DDP averages the gradients, so N processes with a global batch B
follow the same trajectory as one process with batch B (up to float summation order and,
for diffusion, the per-rank noise draws). Only rank 0 writes checkpoints; every rank reads
the resume file. Backend: NCCL on CUDA, gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from finescale.data.errors import FinescaleError


@dataclass(frozen=True)
class Shard:
    """This process's place in the job (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def take(self, n: int) -> list[int]:
        """Indices of a global batch of ``n`` samples that this rank computes."""
        if n % self.world:
            raise FinescaleError(f"batch {n} is not divisible by {self.world} processes; "
                                 "choose a batch that is")
        return list(range(self.rank, n, self.world))


SINGLE = Shard()


def init(device: torch.device) -> Shard:
    """Join the process group described by torchrun's environment variables."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise FinescaleError("--distributed needs torchrun (RANK/WORLD_SIZE are not set); "
                             "run: torchrun --nproc_per_node N -m finescale.app.cli train … "
                             "--distributed")
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Shard(dist.get_rank(), dist.get_world_size())


def current() -> Shard:
    if dist.is_available() and dist.is_initialized():
        return Shard(dist.get_rank(), dist.get_world_size())
    return SINGLE


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def agree(flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank, so that decisions taken from clocks cannot diverge."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    box = [flag]
    dist.broadcast_object_list(box, src=0)
    return bool(box[0])


def local_device(device: torch.device) -> torch.device:
    """One GPU per process on CUDA (LOCAL_RANK), the CPU otherwise."""
    if device.type == "cuda" and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return device


class _Call(nn.Module):
    """Routes method calls through ``forward`` so DDP sees them (e.g. ``Denoiser.loss``)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, method: str, *args, **kwargs):
        fn = self.model if method == "__call__" else getattr(self.model, method)
        return fn(*args, **kwargs)


class Replica:
    """A DDP-wrapped model that the training step uses like the bare model."""

    def __init__(self, model: nn.Module, device: torch.device):
        ids = [device.index] if device.type == "cuda" else None
        self._ddp = nn.parallel.DistributedDataParallel(_Call(model), device_ids=ids)
        self._model = model

    def __call__(self, *args, **kwargs):
        return self._ddp("__call__", *args, **kwargs)

    def __getattr__(self, name: str):
        attr = getattr(self._model, name)
        if callable(attr) and name in ("loss", "sample"):
            return lambda *a, **k: self._ddp(name, *a, **k)
        return attr
