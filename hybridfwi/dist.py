"""PyTorch distributed, the way every command uses it (``torch.distributed``; ``torchrun`` launches).

One code path: a plain process is a world of size 1 (nothing is initialised and every helper is
a no-op), and the same command under ``torchrun --nproc-per-node N`` joins a process group (NCCL
on GPUs, Gloo on CPUs) from the environment torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). Rank 0 writes shared files; work is split by
rank with :func:`shard`. Inside :func:`solo` a rank works alone (a world of size 1 again), e.g.
on the benchmark cases it was given.
"""

from __future__ import annotations

import atexit
import os
import time
from contextlib import contextmanager

import torch
import torch.distributed as td

__all__ = ["init", "rank", "world_size", "is_main", "local_rank", "device_for", "shard", "all_reduce", "barrier",
           "broadcast_object", "broadcast", "main_first", "solo"]

# > 0 inside ``solo()``: this process acts as a world of size 1 (its own rank 0)
_solo_depth = 0


def _env_world() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


def _backend(device: str) -> str:
    """Gloo on CPUs. On GPUs NCCL for CUDA tensors and Gloo for CPU ones ("cpu:gloo,cuda:nccl"):
    the first ``init`` decides the backend for the whole process (the CLI group calls it with
    ``auto`` before any command reads ``--device``), so a ``--device cpu`` command in a GPU job
    (CPU tensors, DDP of a CPU model, ``broadcast_object``) must work on the same group. NCCL
    needs one GPU per process: with more processes per node than GPUs, Gloo does everything."""
    if device == "cpu" or not torch.cuda.is_available() or not td.is_nccl_available():
        return "gloo"
    try:
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    except ValueError:
        per_node = 1
    if per_node > torch.cuda.device_count():
        return "gloo"
    return "cpu:gloo,cuda:nccl"


def init(device: str = "auto") -> None:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1); no-op otherwise."""
    if td.is_available() and not td.is_initialized() and _env_world() > 1:
        backend = _backend(device)
        if "nccl" in backend:
            torch.cuda.set_device(local_rank())
        td.init_process_group(backend=backend)
        atexit.register(_finish)  # a clean exit (NCCL warns about a group left open)


def _finish() -> None:
    """At exit: let Gloo's worker threads finish freeing, then leave the group.

    A Gloo worker thread frees each finished collective's tensors after the collective has
    returned; freeing a tensor made in Python takes the GIL. If that happens while the interpreter
    is finalising, Python ends the thread (``pthread_exit``) inside a C++ destructor and the process
    aborts ("terminate called without an active exception", SIGABRT after a clean run; 8 of 43
    runs of ``test_cli_fwi_under_torchrun_writes_one_run_folder`` in a fresh clone on a 2-core
    AMD EPYC, 0 of 48 with the sleep below; core dump: ``ProcessGroupGloo::runLoop`` -> ``~AsyncAllreduceWork`` ->
    ``decref_pyobject`` -> ``take_gil`` -> ``PyThread_exit_thread``). Every collective has
    returned by now, so only those frees are left: a short sleep releases the GIL for them. (No
    barrier here: a rank leaving on an error would wait in it for ranks that never come.)
    """
    if td.is_initialized():
        try:
            time.sleep(0.05)
            td.destroy_process_group()
        except Exception:  # noqa: BLE001 - at exit, nothing left to report to
            pass


def active() -> bool:
    return td.is_available() and td.is_initialized()


def rank() -> int:
    return td.get_rank() if active() and not _solo_depth else 0


def world_size() -> int:
    return td.get_world_size() if active() and not _solo_depth else 1


def _launched_world() -> int:
    """The number of processes launched together, also inside ``solo()``."""
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
    # the launched world, not world_size(): ranks working alone (solo) still own different GPUs
    if name in ("auto", "cuda") and torch.cuda.is_available() and _launched_world() > 1:
        return f"cuda:{local_rank() % torch.cuda.device_count()}"
    return name


def shard(n: int, r: int | None = None, size: int | None = None) -> list[int]:
    """The indices of ``range(n)`` that rank ``r`` of ``size`` handles (round robin)."""
    r = rank() if r is None else r
    size = world_size() if size is None else size
    return list(range(r, n, size))


def all_reduce(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over ranks in place (no-op in a single process); returns ``t``."""
    if world_size() > 1:
        if t.device.type == "cpu" and td.get_backend() == "nccl":
            u = t.cuda()
            td.all_reduce(u)
            t.copy_(u.cpu())
        else:
            td.all_reduce(t)
    return t


def barrier() -> None:
    if world_size() > 1:
        td.barrier()


def broadcast(t: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Overwrite ``t`` in place with rank ``src``'s values (no-op in a single process); returns ``t``."""
    if world_size() > 1:
        if t.device.type == "cpu" and td.get_backend() == "nccl":
            u = t.cuda()
            td.broadcast(u, src=src)
            t.copy_(u.cpu())
        else:
            td.broadcast(t, src=src)
    return t


def broadcast_object(obj, src: int = 0):
    """``obj`` of rank ``src`` on every rank."""
    if world_size() > 1:
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


@contextmanager
def solo():
    """Inside the block this process is a world of size 1: :func:`rank` 0, :func:`shard` gives it
    everything, collectives are no-ops and :func:`is_main` holds, so it writes its own files. For
    independent work items already split across ranks (benchmark cases): each rank runs its items
    as a plain process would. :func:`device_for` still gives each rank its own GPU."""
    global _solo_depth
    _solo_depth += 1
    try:
        yield
    finally:
        _solo_depth -= 1
