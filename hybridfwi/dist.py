"""PyTorch distributed, the way every command uses it (``torch.distributed``; ``torchrun`` launches).

One code path: a plain process is a world of size 1 (nothing is initialised and every helper is
a no-op), and the same command under ``torchrun --nproc-per-node N`` joins a process group (NCCL
on GPUs, Gloo on CPUs) from the environment torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). Rank 0 writes shared files; work is split by
rank with :func:`shard`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

import torch
import torch.distributed as td

__all__ = ["init", "rank", "world_size", "is_main", "local_rank", "device_for", "shard", "all_reduce", "barrier",
           "broadcast_object", "main_first"]


def _env_world() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def init(device: str = "auto") -> None:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1); no-op otherwise."""
    if td.is_available() and not td.is_initialized() and _env_world() > 1:
        use_nccl = torch.cuda.is_available() and device != "cpu" and td.is_nccl_available()
        if use_nccl:
            torch.cuda.set_device(local_rank())
        td.init_process_group(backend="nccl" if use_nccl else "gloo")


def active() -> bool:
    return td.is_available() and td.is_initialized()


def rank() -> int:
    return td.get_rank() if active() else 0


def world_size() -> int:
    return td.get_world_size() if active() else 1


def is_main() -> bool:
    return rank() == 0


def local_rank() -> int:
    try:
        return int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError:
        return 0


def device_for(name: str) -> str:
    """The device this rank should use for ``name`` (``auto``/``cuda`` -> its own GPU under torchrun)."""
    if name in ("auto", "cuda") and torch.cuda.is_available() and world_size() > 1:
        return f"cuda:{local_rank() % torch.cuda.device_count()}"
    return name


def shard(n: int, r: int | None = None, size: int | None = None) -> list[int]:
    """The indices of ``range(n)`` that rank ``r`` of ``size`` handles (round robin)."""
    r = rank() if r is None else r
    size = world_size() if size is None else size
    return list(range(r, n, size))


def all_reduce(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over ranks in place (no-op in a single process); returns ``t``."""
    if active() and world_size() > 1:
        if t.device.type == "cpu" and td.get_backend() == "nccl":
            u = t.cuda()
            td.all_reduce(u)
            t.copy_(u.cpu())
        else:
            td.all_reduce(t)
    return t


def barrier() -> None:
    if active() and world_size() > 1:
        td.barrier()


def broadcast_object(obj, src: int = 0):
    """``obj`` of rank ``src`` on every rank."""
    if active() and world_size() > 1:
        box = [obj]
        td.broadcast_object_list(box, src=src)
        return box[0]
    return obj


@contextmanager
def main_first():
    """Rank 0 runs the block first (e.g. creates a folder), then the others."""
    if not is_main():
        barrier()
    try:
        yield
    finally:
        if is_main():
            barrier()
