"""Training loop shared by pretraining and fine-tuning.

AdamW, cosine learning-rate schedule, a fixed (seeded) validation split, best-checkpoint
selection on validation MAE, a resumable per-epoch state (survives SIGKILL), a progress bar with
loss and samples/s, mixed precision (bfloat16) on CUDA, deterministic seeds, and a record of
trainable parameters and peak memory.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from hybridfwi import dist
from hybridfwi.dl.data import NetworkPairs, load_batch, split_indices
from hybridfwi.dl.normalize import Normalizer
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_path
from hybridfwi.physics.forward import resolve_device

__all__ = ["TrainConfig", "fit", "evaluate_arrays", "count_parameters", "peak_memory_mb", "machine"]

STATE = "train_state.pt"


@dataclass
class TrainConfig:
    """Options of a training run.

    Attributes:
        epochs: passes over the training split.
        batch_size: samples per step.
        lr: peak AdamW learning rate (cosine decay to 1% of it).
        weight_decay: AdamW weight decay.
        val_fraction: fraction of the samples held out for validation (fixed by ``seed``).
        seed: seed of the split, the shuffles and the initial weights.
        device: ``auto``, ``cpu`` or ``cuda``.
        max_samples: use at most this many samples (a seeded subset); None for all.
    """

    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    val_fraction: float = 0.1
    seed: int = 0
    device: str = "auto"
    max_samples: int | None = None
    extra: dict = field(default_factory=dict)

    def validate(self) -> "TrainConfig":
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise InputError(f"--{name.replace('_', '-')} must be an integer, got {v!r}")
        if not isinstance(self.lr, (int, float)) or not np.isfinite(self.lr):
            raise InputError(f"--lr must be a positive number, got {self.lr!r}")
        if self.max_samples is not None and self.max_samples < 1:
            raise InputError(f"--max-samples must be >= 1, got {self.max_samples}")
        if self.epochs < 1:
            raise InputError(f"--epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise InputError(f"--batch-size must be >= 1, got {self.batch_size}")
        if not self.lr > 0:
            raise InputError(f"--lr must be positive, got {self.lr}")
        if not 0 <= self.val_fraction < 1:
            raise InputError(f"--val-fraction must be in [0, 1), got {self.val_fraction}")
        return self


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total


def anonymous_rss_mb() -> float:
    """Resident anonymous memory of this process (MiB): RSS without the memory-mapped dataset pages."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class _PeakMemory:
    """Peak memory of a training run: CUDA max allocated on GPU; on CPU the largest anonymous RSS
    sampled after every step (file-backed pages of memory-mapped datasets are not counted)."""

    def __init__(self, device: torch.device):
        self.device, self.peak = device, 0.0
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)

    def sample(self) -> None:
        if self.device.type != "cuda":
            self.peak = max(self.peak, anonymous_rss_mb())

    @property
    def mb(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        return self.peak


def peak_memory_mb(device: torch.device) -> float:
    """CUDA max allocated on GPU, the current anonymous RSS on CPU (MiB)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return anonymous_rss_mb()


def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__, "python": platform.python_version()}


def _bn_eval(model: torch.nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()


@torch.no_grad()
def evaluate_arrays(model: torch.nn.Module, pairs: NetworkPairs, idx, norm: Normalizer, device, batch_size: int = 32) -> dict:
    """Per-pair OpenFWI metrics over ``idx``: MAE/RMSE on velocity normalised by the network's range,
    MAE/RMSE in m/s, SSIM."""
    from hybridfwi.metrics import ssim

    model.eval()
    out = {"mae": [], "rmse": [], "mae_ms": [], "rmse_ms": [], "ssim": []}
    for lo in range(0, len(idx), batch_size):
        b = idx[lo:lo + batch_size]
        x, y = load_batch(pairs, b, norm, device)
        p = model(x).float()
        err = (p - y).flatten(1)
        out["mae"] += err.abs().mean(1).tolist()
        out["rmse"] += err.pow(2).mean(1).sqrt().tolist()
        pv, yv = norm.velocity_inverse(p).cpu().numpy(), norm.velocity_inverse(y).cpu().numpy()
        for a, t in zip(pv, yv):
            out["mae_ms"].append(float(np.mean(np.abs(a - t))))
            out["rmse_ms"].append(float(np.sqrt(np.mean((a - t) ** 2))))
            out["ssim"].append(ssim(a[0], t[0]))
    return out


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def fit(model: torch.nn.Module, pairs: NetworkPairs, norm: Normalizer, cfg: TrainConfig, out: str,
        save_best: Callable[[torch.nn.Module, dict], None], freeze_batchnorm: bool = False, progress: bool = True,
        resume: bool = True, on_epoch: Callable[[dict], None] | None = None) -> dict:
    """Train ``model`` on ``pairs``; call ``save_best(model, record)`` whenever validation MAE improves.

    A state file ``out/train_state.pt`` (weights, optimiser, schedule, epoch, best score) is written
    after every epoch; when present and ``resume`` is set, training continues from it. Under
    ``torchrun`` the model is wrapped in DistributedDataParallel, every global batch is split across
    the ranks, and rank 0 writes the files; the state does not depend on the number of processes,
    so a run resumes with another. Returns the training record.
    """
    from tqdm.auto import tqdm

    cfg.validate()
    dist.init(cfg.device)
    device = resolve_device(dist.device_for(cfg.device))
    world, rank = dist.world_size(), dist.rank()
    torch.manual_seed(cfg.seed)
    n = len(pairs)
    pool = np.arange(n)
    if cfg.max_samples is not None and cfg.max_samples < n:
        pool = np.sort(np.random.default_rng(cfg.seed + 1).choice(n, size=cfg.max_samples, replace=False))
    tr_pos, va_pos = split_indices(len(pool), cfg.val_fraction, cfg.seed)
    tr, va = pool[tr_pos], pool[va_pos]
    if len(tr) == 0:
        raise InputError("no training samples left after the validation split; give more data or a smaller --val-fraction")
    model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = int(np.ceil(len(tr) / cfg.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs * steps_per_epoch, eta_min=cfg.lr * 0.01)
    trainable, total = count_parameters(model)
    state_path = os.path.join(out, STATE)
    start_epoch, best, history, wall = 0, float("inf"), [], 0.0
    if resume and os.path.exists(state_path):
        try:
            st = torch.load(state_path, map_location=device, weights_only=True)
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["optimizer"])
            sched.load_state_dict(st["scheduler"])
        except Exception as exc:  # noqa: BLE001 - a damaged state file is bad input
            raise InputError(f"{state_path}: the training state is unreadable ({str(exc).splitlines()[0][:120]}); delete it to "
                             f"start over") from None
        start_epoch, best, history, wall = int(st["epoch"]), float(st["best"]), json.loads(st["history"]), float(st["wall"])
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    use_amp = device.type == "cuda"
    memory = _PeakMemory(device)
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        net.train()
        if freeze_batchnorm:
            _bn_eval(net)
        order = tr[np.random.default_rng([cfg.seed, epoch]).permutation(len(tr))]
        losses = []
        with tqdm(total=len(order), desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="sample", disable=not progress or rank != 0,
                  dynamic_ncols=True) as bar:
            for lo in range(0, len(order), cfg.batch_size):
                glob_batch = order[lo:lo + cfg.batch_size]
                local = np.array_split(glob_batch, world)[rank]
                share = len(local) * world / len(glob_batch)
                if len(local) == 0:  # fewer samples than ranks in the last batch: take part with weight 0
                    local, share = glob_batch[:1], 0.0
                x, y = load_batch(pairs, local, norm, device)
                with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_amp):
                    p = net(x)
                # mean over the global batch: DDP averages the ranks' gradients, so weight by the share
                loss = torch.nn.functional.l1_loss(p.float(), y) * share
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
                memory.sample()
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.4f}")
                bar.update(len(glob_batch))
        if world > 1:  # the history holds global-batch losses (as in one process): the mean of the ranks' weighted losses
            losses = (dist.all_reduce(torch.tensor(losses, dtype=torch.float64)) / world).tolist()
        if len(va):
            mine = va[rank::world]
            sums = torch.zeros(2, dtype=torch.float64)
            if len(mine):
                val = evaluate_arrays(model, pairs, mine, norm, device)
                sums += torch.tensor([float(np.sum(val["mae"])), float(len(mine))], dtype=torch.float64)
            dist.all_reduce(sums)
            val_mae = float(sums[0] / sums[1])
        else:
            val_mae = float(np.mean(losses))
        wall += time.perf_counter() - t0
        entry = {"epoch": epoch + 1, "train_l1": float(np.mean(losses)), "val_mae": val_mae, "lr": sched.get_last_lr()[0],
                 "wall_s": wall, "samples_per_s": len(order) / (time.perf_counter() - t0)}
        history.append(entry)
        if val_mae < best:
            best = val_mae
            if dist.is_main():
                save_best(model, {"best_epoch": epoch + 1, "val_mae": val_mae})
        if dist.is_main():
            with atomic_path(state_path) as tmp:
                torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                            "epoch": epoch + 1, "best": best, "history": json.dumps(history), "wall": wall}, tmp)
        dist.barrier()
        if on_epoch is not None:
            on_epoch(entry)
    return {
        "train_config": asdict(cfg),
        "samples_train": int(len(tr)),
        "samples_val": int(len(va)),
        "trainable_parameters": trainable,
        "total_parameters": total,
        "trainable_percent": 100.0 * trainable / total,
        "peak_memory_mb": memory.mb,
        "peak_memory_kind": "cuda max allocated" if device.type == "cuda" else "peak anonymous RSS, sampled per step",
        "device": str(device),
        "processes": world,
        "wall_time_s": wall,
        "best_val_mae": best,
        "history": history,
        "machine": machine(),
    }
