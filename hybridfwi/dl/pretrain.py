"""Task-agnostic pretraining of a foundation network: on dataset folders, or online.

``pretrain`` trains on generated dataset folders (``hybridfwi generate``). ``pretrain_online``
generates its training data while it trains: each batch of seeded models (pretrain seed range)
is modelled on the device in the network's geometry, with a free surface or an absorbing top
(probability per family, ``OnlineConfig.free_surface``; the top boundary is an input channel),
augmented the way the network frame degrades real surveys (missing shots, missing near or far
offsets, truncated records, noise, uneven trace amplitudes),
and used for a few optimiser steps before the next batch replaces it. Nothing is stored but the
checkpoint, so the network sees as many distinct models as the time allows (on a GPU, hundreds of
thousands). Validation uses a fixed set from the validation seed range; the best checkpoint is kept.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from hybridfwi import dist
from hybridfwi.dl.checkpoint import ModelConfig, save_checkpoint
from hybridfwi.dl.normalize import Normalizer
from hybridfwi.dl.registry import create_model
from hybridfwi.dl.train import TrainConfig, count_parameters, fit, machine
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_path, atomic_write_text
from hybridfwi.synth import seeds
from hybridfwi.synth.datasets import ShotDataset, read_manifest

__all__ = ["PretrainConfig", "pretrain", "OnlineConfig", "pretrain_online", "augment"]


@dataclass
class PretrainConfig:
    """Attributes: data folders, output checkpoint folder, architecture and its options, training options."""

    data: list[str]
    out: str
    arch: str = "compact"
    arch_kwargs: dict = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)
    resume: bool = False


def _check_out(out: str, resume: bool) -> None:
    from hybridfwi.io.atomic import check_parent

    check_parent(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out!r} is a file; give a folder for the checkpoint")
    if os.path.isdir(out) and os.listdir(out) and not resume:
        raise InputError(f"--out {out!r} is not empty; add --resume to continue training there, or choose another --out")


def _check_width(kw: dict) -> None:
    w = kw.get("width")
    if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < 1):
        raise InputError(f"--width must be a positive integer, got {w!r}")


def pretrain(cfg: PretrainConfig, progress: bool = True) -> dict:
    """Train a network from scratch on every sample of ``cfg.data``; write the best checkpoint."""
    from hybridfwi.dl.data import NetworkPairs

    _check_out(cfg.out, cfg.resume)
    _check_width(cfg.arch_kwargs)
    cfg.train.validate()
    ds = ShotDataset(cfg.data)
    for m, d in zip(ds.manifests, cfg.data):
        seeds.check_training_dataset(m, d, "pretraining")
    from hybridfwi.dl.predict import check_true_models

    check_true_models(ds, "pretraining")
    geom = next((g for g in ds.geometries if g is not None), None)
    if geom is None:
        from hybridfwi.core.survey import PRESETS

        geom = PRESETS["openfwi"]()
    data_shape = geom.survey.data_shape
    model_shape = ds.arrays(0)[1].shape[1:]
    kwargs = {"in_shape": list(data_shape), "out_shape": list(model_shape), **cfg.arch_kwargs}
    torch.manual_seed(cfg.train.seed)
    model = create_model(cfg.arch, **kwargs)
    norm = Normalizer.fit(ds, seed=cfg.train.seed)
    families = sorted({ds.family(i) for i in range(len(ds))} - {""})
    recipe = {"families": families, "samples": len(ds),
              "datasets": [({k: v for k, v in m["config"].items() if k != "geometry"} if m else {"folder": os.path.basename(os.path.abspath(d))})
                           for m, d in zip(ds.manifests, cfg.data)]}
    mcfg = ModelConfig(arch=cfg.arch, arch_kwargs=kwargs, normalizer=norm, geometry=geom.to_dict(), record={"data_recipe": recipe})
    os.makedirs(cfg.out, exist_ok=True)

    def save_best(m, info):
        mcfg.record.update(info)
        save_checkpoint(cfg.out, m, mcfg)

    pairs = NetworkPairs(ds, geom, tuple(model_shape))
    record = fit(model, pairs, norm, cfg.train, cfg.out, save_best, progress=progress, resume=cfg.resume)
    mcfg.record.update({"data_recipe": recipe, "training": record})
    if dist.is_main():  # rewrite the config with the full record (weights stay those of the best epoch)
        from hybridfwi.dl.checkpoint import load_checkpoint

        best, _ = load_checkpoint(cfg.out)
        save_checkpoint(cfg.out, best, mcfg)
    return record


# ----------------------------------------------------------------------------- online pretraining
@dataclass
class OnlineConfig:
    """Options of :func:`pretrain_online`.

    Attributes:
        out: checkpoint folder.
        families: pretraining families (models drawn round robin).
        samples: models to generate in total (fewer when ``time_limit_s`` stops the run first).
        gen_batch: models modelled per propagation batch.
        reuse: optimiser passes over each generated batch.
        batch_size: samples per optimiser step.
        lr, weight_decay: AdamW (cosine schedule to 1% over the planned steps).
        arch, width: the network.
        geometry: the network's acquisition (a preset or a geometry file).
        vrange: velocity range (m/s) of the network's output.
        free_surface: probability of a free-surface top per family (default 0.3; ``basin-marine`` 0.8).
        augment: degrade inputs as the network frame degrades real surveys.
        val_per_family: validation models per family (validation seed range).
        seed: pretraining seed (pretrain range); ``val_seed``: validation seed (validation range).
        time_limit_s: stop (and keep the best checkpoint) after this long; with it, ``samples`` is
            cut after the first batches so the cosine schedule ends in time.
        validate_every: generated batches between validations.
        device, workers (DataLoader processes drawing models), resume.
        init: start from this checkpoint's weights (same architecture) instead of random ones.
        first_sample: the first model index drawn (continue a finished run with fresh models).
    """

    out: str
    families: tuple = ()
    samples: int = 200_000
    gen_batch: int = 256
    reuse: int = 4
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    arch: str = "compact"
    width: int = 32
    geometry: str = "openfwi"
    vrange: tuple = (1450.0, 6000.0)
    free_surface: dict = field(default_factory=lambda: {"default": 0.3, "basin-marine": 0.8})
    augment: bool = True
    val_per_family: int = 16
    seed: int = 0
    val_seed: int = 10_000
    time_limit_s: float | None = None
    validate_every: int = 20
    device: str = "auto"
    workers: int | None = None
    resume: bool = False
    init: str | None = None
    first_sample: int = 0

    def validate(self) -> "OnlineConfig":
        from hybridfwi.synth.families import PRETRAIN_FAMILIES, get_family

        if not self.families:
            self.families = PRETRAIN_FAMILIES
        for f in self.families:
            if get_family(f).ood:
                raise InputError(f"family {f!r} is held out of pretraining (out-of-distribution tests)")
        seeds.check("pretrain", self.seed)
        seeds.check("validation", self.val_seed)
        for name in ("samples", "gen_batch", "reuse", "batch_size", "val_per_family", "width"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise InputError(f"{name} must be a positive integer, got {v!r}")
        if not self.lr > 0:
            raise InputError(f"lr must be positive, got {self.lr!r}")
        if self.time_limit_s is not None and not (np.isfinite(self.time_limit_s) and self.time_limit_s >= 1):
            raise InputError(f"--time-limit must be a number of seconds >= 1, got {self.time_limit_s!r}")
        return self


def lr_factor(step: int, total: int) -> float:
    """Cosine learning-rate factor of online pretraining: 1 at step 0, 0.01 at ``total`` steps and after."""
    return 0.01 + 0.99 * 0.5 * (1 + float(np.cos(np.pi * min(step / max(total, 1), 1.0))))


def _free_surface(cfg: OnlineConfig, family: str, index: int) -> bool:
    p = cfg.free_surface.get(family, cfg.free_surface.get("default", 0.3))
    return bool(np.random.default_rng([7, index, len(family)]).uniform() < p)


def _specs(cfg: OnlineConfig, start: int, n: int, seed: int) -> list[tuple[str, int, int]]:
    """Sample ``k`` is model ``k // F`` of family ``k % F`` (F families) under ``seed``."""
    fams = cfg.families
    return [(fams[k % len(fams)], seed, k // len(fams)) for k in range(start, start + n)]


def _model_batch(models: torch.Tensor, specs, cfg: OnlineConfig, grid, survey, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Model a batch (each sample with its own top boundary); returns data ``(n, shots, nt, receivers)`` and flags ``(n,)``."""
    from hybridfwi.physics.forward import ForwardConfig, simulate

    fs = torch.tensor([_free_surface(cfg, f, i) for f, _, i in specs], dtype=torch.bool)
    models = models.to(device, non_blocking=True)
    data = torch.empty((len(specs), *survey.data_shape), device=device)
    fwd = ForwardConfig(max_vel=cfg.vrange[1], device=str(device))
    with torch.no_grad():
        for flag in (False, True):
            sel = torch.nonzero(fs == flag).flatten()
            if sel.numel():
                data[sel.to(device)] = simulate(models[sel.to(device)], grid, survey.replace(free_surface=flag), fwd)
    return data, fs.to(device=device, dtype=torch.float32)


def augment(x: torch.Tensor, gen: torch.Generator, offsets: torch.Tensor) -> torch.Tensor:
    """Degrade raw data ``(n, shots, nt, receivers)`` as reading a real survey does (returns a new tensor).

    With ``offsets`` ``(shots, receivers)`` (m): per sample, with probabilities 0.25 / 0.3 / 0.3 /
    0.2 / 0.5 / 0.3: 1-2 shots missing, near offsets missing (up to 15% of the aperture), far offsets
    missing (beyond 40-90%), the record cut at 0.5-0.95 of its length, white noise at 10-40 dB,
    trace amplitudes scattered (log-normal, sigma 0.2). Decisions come from ``gen`` (CPU), so the
    result depends on its seed only.
    """
    n, ns, nt, nr = x.shape
    dev, dt_ = x.device, x.dtype
    u = torch.rand((n, 6), generator=gen)
    aperture = float(offsets.abs().max())
    off = offsets.abs().to(dev, dt_)[None, :, None, :]  # (1, ns, 1, nr)
    keep_shot = torch.ones((n, ns))
    for i in torch.nonzero(u[:, 0] < 0.25).flatten().tolist():
        k = int(torch.randint(1, 3, (1,), generator=gen))
        keep_shot[i, torch.randperm(ns, generator=gen)[:k]] = 0.0
    hmin = torch.where(u[:, 1] < 0.3, torch.rand(n, generator=gen) * 0.15 * aperture, torch.full((n,), -1.0))
    hmax = torch.where(u[:, 2] < 0.3, (0.4 + 0.5 * torch.rand(n, generator=gen)) * aperture, torch.full((n,), np.inf))
    cut = torch.where(u[:, 3] < 0.2, (0.5 + 0.45 * torch.rand(n, generator=gen)) * nt, torch.full((n,), float(nt)))
    snr = 10.0 + 30.0 * torch.rand(n, generator=gen)
    noisy = u[:, 4] < 0.5
    scatter = u[:, 5] < 0.3
    amp = torch.where(scatter[:, None, None, None], torch.exp(0.2 * torch.randn((n, ns, 1, nr), generator=gen)), torch.ones(1))
    trace_mask = (off >= hmin.to(dev, dt_)[:, None, None, None]) & (off <= hmax.to(dev, dt_)[:, None, None, None])
    time_mask = torch.arange(nt, device=dev)[None, None, :, None] < cut.to(dev)[:, None, None, None]
    y = x * keep_shot.to(dev, dt_)[:, :, None, None] * trace_mask.to(dt_) * time_mask.to(dt_) * amp.to(dev, dt_)
    power = x.pow(2).mean(dim=(1, 2, 3))
    sigma = torch.where(noisy.to(dev), torch.sqrt(power / 10.0 ** (snr.to(dev, dt_) / 10.0)), torch.zeros((), device=dev, dtype=dt_))
    dgen = torch.Generator(device=dev).manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
    live = (y.abs().amax(dim=2, keepdim=True) > 0).to(dt_)
    return y + torch.randn(x.shape, generator=dgen, device=dev, dtype=dt_) * sigma[:, None, None, None] * live


def _validation_set(cfg: OnlineConfig, grid, survey, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list]:
    from hybridfwi.synth.families import make_model

    specs = [(f, cfg.val_seed, i) for f in cfg.families for i in range(cfg.val_per_family)]
    models = torch.from_numpy(np.stack([make_model(f, s, i, grid.nz, grid.nx) for f, s, i in specs]))
    xs, fss = [], []
    for lo in range(0, len(specs), cfg.gen_batch):
        d, fs = _model_batch(models[lo:lo + cfg.gen_batch], specs[lo:lo + cfg.gen_batch], cfg, grid, survey, device)
        xs.append(d)
        fss.append(fs)
    return torch.cat(xs), models.to(device), torch.cat(fss), [f for f, _, _ in specs]


def pretrain_online(cfg: OnlineConfig, progress: bool = True) -> dict:
    """Pretrain a network on data generated while it trains; write the best checkpoint to ``cfg.out``.

    Resumable: a state file (weights, optimiser, schedule, samples consumed) is written at every
    validation; ``resume`` continues from it with the same sample sequence.
    """
    from tqdm.auto import tqdm

    from hybridfwi.core.survey import load_geometry
    from hybridfwi.physics.forward import resolve_device
    from hybridfwi.synth.datasets import ModelBatches, _loader

    cfg.validate()
    if dist.world_size() > 1:  # not split across processes yet: N identical copies would only race on the same files
        raise InputError("pretrain --online runs in one process (one GPU); under torchrun, pretrain on --data folders "
                         "(`hybridfwi generate` them, also under torchrun)")
    _check_out(cfg.out, cfg.resume)
    t_start = time.perf_counter()
    device = resolve_device(cfg.device)
    geom = load_geometry(cfg.geometry)
    grid, survey = geom.grid, geom.survey
    norm = Normalizer(vmin=cfg.vrange[0], vmax=cfg.vrange[1], mode="per-sample", top_channel=True)
    in_shape = [survey.n_shots + 1, survey.nt, survey.n_receivers]
    kwargs = {"in_shape": in_shape, "out_shape": list(grid.shape), "width": cfg.width}
    torch.manual_seed(cfg.seed)
    model = create_model(cfg.arch, **kwargs).to(device)
    if cfg.init:
        from hybridfwi.dl.checkpoint import load_checkpoint

        init_model, init_cfg = load_checkpoint(cfg.init)
        if init_cfg.arch != cfg.arch or init_cfg.arch_kwargs != kwargs:
            raise InputError(f"--init {cfg.init!r} is a {init_cfg.arch} {init_cfg.arch_kwargs}, not {cfg.arch} {kwargs}")
        model.load_state_dict(init_model.state_dict())
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_batch = cfg.reuse * int(np.ceil(cfg.gen_batch / cfg.batch_size))
    planned = cfg.first_sample + cfg.samples
    state_path = os.path.join(cfg.out, "train_state.pt")
    done, best, history, wall_before, step = cfg.first_sample, float("inf"), [], 0.0, 0
    os.makedirs(cfg.out, exist_ok=True)
    if cfg.resume and os.path.exists(state_path):
        try:
            st = torch.load(state_path, map_location=device, weights_only=True)
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["optimizer"])
            done, best, step = int(st["done"]), float(st["best"]), int(st["step"])
            history, wall_before, planned = json.loads(st["history"]), float(st["wall"]), int(st["planned"])
        except Exception as exc:  # noqa: BLE001 - any unreadable state file is bad input
            raise InputError(f"training state {state_path!r} is damaged or belongs to another run ({str(exc).splitlines()[0][:120]}); "
                             f"delete it to start over") from None
    # the schedule spans this run's own models: from first_sample, not from model 0
    total_steps = [int(np.ceil((planned - cfg.first_sample) / cfg.gen_batch)) * steps_per_batch]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(k, total_steps[0]))
    for _ in range(step):
        sched.step()
    mcfg = ModelConfig(arch=cfg.arch, arch_kwargs=kwargs, normalizer=norm, geometry=geom.to_dict(), record={})
    xv, yv, fv, fam_v = _validation_set(cfg, grid, survey, device)
    offsets = torch.as_tensor(survey.offsets, dtype=torch.float32)
    use_amp = device.type == "cuda"
    workers = cfg.workers if cfg.workers is not None else (min(8, max((os.cpu_count() or 1) - 2, 0)) if device.type == "cuda" else 0)

    def validate() -> tuple[float, dict]:
        model.eval()
        maes, per = [], {}
        with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_amp):
            for lo in range(0, xv.shape[0], 64):
                p = model(norm.data(xv[lo:lo + 64], fv[lo:lo + 64])).float()
                maes += (p - norm.velocity(yv[lo:lo + 64, None])).abs().flatten(1).mean(1).tolist()
        for f, m in zip(fam_v, maes):
            per.setdefault(f, []).append(m)
        model.train()
        return float(np.mean(maes)), {f: float(np.mean(v)) for f, v in per.items()}

    def save_state(wall: float) -> None:
        with atomic_path(state_path) as tmp:
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "done": done, "best": best, "step": step,
                        "history": json.dumps(history), "wall": wall, "planned": planned}, tmp)

    n_batches = int(np.ceil((planned - done) / cfg.gen_batch))
    jobs = [(_specs(cfg, done + k * cfg.gen_batch, min(cfg.gen_batch, planned - done - k * cfg.gen_batch), cfg.seed), done + k * cfg.gen_batch)
            for k in range(n_batches)]
    bar = tqdm(total=planned, initial=done, unit="sample", desc="pretrain (online)", disable=not progress, dynamic_ncols=True)
    model.train()
    losses: list[float] = []
    t_gen = t_train = 0.0
    timed_batches = 0
    stopped = "samples"
    try:
        for b, (models, start) in enumerate(_loader(ModelBatches(jobs, grid.nz, grid.nx), workers, device.type == "cuda")):
            t0 = time.perf_counter()
            specs = _specs(cfg, start, models.shape[0], cfg.seed)
            data, fs = _model_batch(models, specs, cfg, grid, survey, device)
            if cfg.augment:
                data = augment(data, torch.Generator().manual_seed(cfg.seed * 1_000_003 + start), offsets)
            x = norm.data(data, fs)
            y = norm.velocity(models.to(device)[:, None])
            if device.type == "cuda":
                torch.cuda.synchronize()
            t1 = time.perf_counter()
            gen = torch.Generator().manual_seed(start + 1)
            for _ in range(cfg.reuse):
                perm = torch.randperm(x.shape[0], generator=gen).to(device)
                for lo in range(0, x.shape[0], cfg.batch_size):
                    idx = perm[lo:lo + cfg.batch_size]
                    with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=use_amp):
                        p = model(x[idx])
                    loss = torch.nn.functional.l1_loss(p.float(), y[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
                    step += 1
                    losses.append(float(loss.detach()))
            if device.type == "cuda":
                torch.cuda.synchronize()
            t2 = time.perf_counter()
            if b >= 1:  # the first batch pays for start-up
                t_gen += t1 - t0
                t_train += t2 - t1
                timed_batches += 1
            done = start + models.shape[0]
            bar.update(models.shape[0])
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
            elapsed = time.perf_counter() - t_start
            if cfg.time_limit_s and timed_batches == 3 and not cfg.resume:
                per_batch = (t_gen + t_train) / timed_batches * 1.05  # validations and saves on top
                fit_batches = int((cfg.time_limit_s * 0.95 - elapsed) / per_batch) + b + 1
                if jobs[0][1] + fit_batches * cfg.gen_batch < planned:  # shorten the plan so the schedule ends in time
                    planned = max(jobs[0][1] + fit_batches * cfg.gen_batch, done + cfg.gen_batch)
                    total_steps[0] = int(np.ceil((planned - cfg.first_sample) / cfg.gen_batch)) * steps_per_batch
                    jobs[:] = jobs[: int(np.ceil((planned - jobs[0][1]) / cfg.gen_batch))]
                    bar.total = planned
            last = done >= planned
            if (b + 1) % cfg.validate_every == 0 or last:
                val, per = validate()
                entry = {"samples": done, "step": step, "train_l1": float(np.mean(losses[-200:])), "val_mae": val,
                         "val_mae_per_family": per, "lr": sched.get_last_lr()[0], "wall_s": wall_before + elapsed}
                history.append(entry)
                if val < best:
                    best = val
                    mcfg.record = {"best_samples": done, "val_mae": val}
                    save_checkpoint(cfg.out, model, mcfg)
                save_state(wall_before + elapsed)
            if last:
                break
            if cfg.time_limit_s and elapsed > cfg.time_limit_s:
                stopped = "time limit"
                break
    finally:
        bar.close()
    if not history or history[-1]["samples"] != done:
        val, per = validate()
        history.append({"samples": done, "step": step, "val_mae": val, "val_mae_per_family": per,
                        "wall_s": wall_before + time.perf_counter() - t_start})
        if val < best:
            best = val
            mcfg.record = {"best_samples": done, "val_mae": val}
            save_checkpoint(cfg.out, model, mcfg)
        save_state(wall_before + time.perf_counter() - t_start)
    trainable, total = count_parameters(model)
    record = {
        "mode": "online", "config": {k: v for k, v in asdict(cfg).items() if k not in ("out", "resume")},
        "samples_generated": done, "planned_samples": planned, "optimizer_steps": step, "stopped_by": stopped,
        "best_val_mae": best, "history": history, "total_parameters": total, "trainable_parameters": trainable,
        "seconds_per_batch": {"generate": t_gen / max(timed_batches, 1), "train": t_train / max(timed_batches, 1)},
        "wall_time_s": wall_before + time.perf_counter() - t_start, "device": str(device), "machine": machine(),
    }
    from hybridfwi.dl.checkpoint import load_checkpoint

    best_model, best_cfg = load_checkpoint(cfg.out)
    best_cfg.record = {**best_cfg.record, "data_recipe": {"families": list(cfg.families), "seed": cfg.seed,
                                                           "samples": done, "online": True,
                                                           "free_surface": cfg.free_surface, "augment": cfg.augment},
                       "training": record}
    save_checkpoint(cfg.out, best_model, best_cfg)
    atomic_write_text(os.path.join(cfg.out, "training_record.json"), json.dumps(record, indent=1) + "\n")
    return record
