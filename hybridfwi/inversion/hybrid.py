"""The hybrid: a DL prediction as the initial model, refined by physics FWI.

``invert()`` runs these stages, each reported on stderr and timed in the report:

1. **read**: a field SEG-Y/SU file (:func:`~hybridfwi.io.field.read_field`, repairs listed) turned
   into an inversion problem (:func:`~hybridfwi.inversion.problem.build_problem`: grid, bands,
   time axis, 3-D->2-D correction, water layer); or a survey written by ``hybridfwi synth`` (its
   JSON sidecar gives grid and wavelet exactly);
2. **start**: the 1-D gradient reference model (water layer on top for marine data) and, for field
   data, a least-squares source wavelet estimated in it;
3. **adapt** (``auto``: whenever the survey is not the network's own geometry): LoRA fine-tuning on
   synthetic data generated in the survey's geometry, cached (:mod:`hybridfwi.dl.adapt`);
4. **DL**: the network's prediction, the survey read in its frame by scale invariance
   (:mod:`hybridfwi.dl.mapping`), the picked water layer imposed;
5. **FWI** from the DL model (:func:`~hybridfwi.inversion.run.run_fwi`; the water layer frozen);
6. **report**: ``report.json`` and figures.

An interrupted run continues with ``resume=True``: finished stages are read back, the adapter
comes from the cache, FWI resumes from its checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.core.survey import Survey
from hybridfwi.core.wavelet import Wavelet
from hybridfwi.errors import InputError
from hybridfwi.inversion.config import FWIConfig
from hybridfwi.inversion.marine import WaterLayer, first_breaks, impose_water, pick_water
from hybridfwi.inversion.problem import Problem, ProblemConfig, build_problem
from hybridfwi.inversion.run import CHECKPOINT, FWIRun, run_fwi
from hybridfwi.io.atomic import atomic_save_npy, atomic_write_text

__all__ = ["InvertConfig", "invert", "gradient_model", "seabed_from_model"]

log = logging.getLogger(__name__)

#: Velocity increase with depth below the seabed (or the surface) of the 1-D reference model, 1/s.
GRADIENT_PER_M = 1.0


@dataclass
class InvertConfig:
    """Everything ``hybridfwi invert`` takes.

    Attributes:
        survey: shot-gather SEG-Y/SU file. out: run folder.
        model: DL network spec (CKPT[+ADAPTER]; None = the shipped foundation model).
        adapt: ``auto`` (fine-tune when the survey's geometry is not the network's), ``on``, ``off``.
        adapt_samples: synthetic samples per family for adaptation. adapt_epochs: its epochs.
        cache: adapter cache folder (None: ``$HYBRIDFWI_CACHE`` or ``~/.cache/hybridfwi``).
        problem: how a field survey becomes an inversion problem (bands, grid, window, ...).
        bands, low_cut: FWI bands (Hz); None = from the data (field) or ``[0.6 x peak, full]`` (synthetic).
        iterations: FWI iterations per band.
        fwi: further FWI settings (None: defaults); its bands/iterations are replaced by the above.
        receiver_spacing, source_x, first_receiver_x: geometry for files without one.
        true: true model file on the survey grid (synthetic surveys), to report model errors.
        resume, progress, device.
    """

    survey: str
    out: str
    model: str | None = None
    adapt: str = "auto"
    adapt_samples: int = 32
    adapt_epochs: int = 10
    cache: str | None = None
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    bands: list | None = None
    low_cut: float | None = None
    iterations: int = 15
    fwi: FWIConfig | None = None
    receiver_spacing: float | None = None
    source_x: list | None = None
    first_receiver_x: float = 0.0
    true: str | None = None
    resume: bool = False
    progress: bool = True
    device: str = "auto"


def gradient_model(grid, water: WaterLayer | None, top: float = 1500.0, vmax: float = 4000.0) -> np.ndarray:
    """1-D reference model ``(nz, nx)`` m/s: water above the seabed (marine), then ``GRADIENT_PER_M``
    per metre from 1600 m/s at the seabed (or ``top`` at the surface on land), capped at ``vmax``."""
    z = grid.z
    if water is not None and water.seabed_depth is not None:
        col = np.where(z < water.seabed_depth, water.velocity, 1600.0 + GRADIENT_PER_M * (z - water.seabed_depth))
    else:
        col = top + GRADIENT_PER_M * z
    return np.repeat(np.minimum(col, vmax)[:, None], grid.nx, axis=1).astype(np.float32)


def seabed_from_model(model: np.ndarray, z: np.ndarray, water_velocity: float, jump: float = 30.0) -> float | None:
    """Median over columns of the first depth (m) where the model exceeds the water velocity by ``jump``."""
    above = np.asarray(model) > water_velocity + jump
    cols = [z[np.argmax(c)] for c in above.T if c.any()]
    return float(np.median(cols)) if cols else None


class _Stages:
    def __init__(self, n: int, enabled: bool):
        self.n, self.k, self.enabled = n, 0, enabled
        self.t = time.perf_counter()
        self.timings: dict[str, float] = {}
        self.name: str | None = None

    def start(self, name: str, what: str) -> None:
        self.stop()
        self.k += 1
        self.name = name
        self.t = time.perf_counter()
        if self.enabled:
            print(f"[{self.k}/{self.n}] {what}", file=sys.stderr, flush=True)

    def stop(self) -> None:
        if self.name is not None:
            self.timings[self.name] = self.timings.get(self.name, 0.0) + time.perf_counter() - self.t
            self.name = None


def _with_wavelet(s: Survey, wavelet: Wavelet) -> Survey:
    return Survey(grid=s.grid, dt=s.dt, nt=s.nt, source_x=s.source_x, source_z=s.source_z, receiver_x=s.receiver_x,
                  receiver_z=s.receiver_z, wavelet=wavelet, free_surface=s.free_surface, name=s.name)


def _load_problem(cfg: InvertConfig) -> tuple[Problem, bool]:
    """(problem, is_field_data)."""
    from hybridfwi.io.segy import read_shots, sidecar_path

    if os.path.exists(sidecar_path(cfg.survey)) and cfg.receiver_spacing is None:
        record = read_shots(cfg.survey)
        s = record.survey
        water = None
        if s.free_surface and np.all(s.receiver_z > 0):
            lag = float(first_breaks(s.wavelet.array(s.nt, s.dt)[None, :, None], s.dt)[0, 0])
            water = pick_water(record.data, s.dt, record.t0 - lag, s.offsets, s.source_z, s.receiver_z)
        p = cfg.problem
        if water is not None and (p.water_velocity or p.seabed_depth):
            water = WaterLayer(p.water_velocity or water.velocity, p.seabed_depth or water.seabed_depth, None, 0, 0.0, "given")
        peak = s.wavelet.peak_freq
        bands = cfg.bands if cfg.bands is not None else [round(0.6 * peak, 2), None]
        info = {"read": ["grid, wavelet and top boundary from the hybridfwi sidecar (a synthetic survey)"],
                "grid": s.grid.to_dict(), "dt_s": s.dt, "nt": s.nt, "free_surface": s.free_surface,
                "marine": water is not None, "bands_hz": bands, "low_cut_hz": cfg.low_cut,
                "water": water.to_dict() if water else None}
        return Problem(record=record, bands=bands, low_cut=cfg.low_cut, water=water, info=info), False
    from hybridfwi.io.field import read_field

    fs = read_field(cfg.survey, cfg.receiver_spacing, cfg.source_x, cfg.first_receiver_x)
    pc = cfg.problem
    if cfg.bands is not None:
        pc.bands = cfg.bands
    if cfg.low_cut is not None:
        pc.low_cut = cfg.low_cut
    return build_problem(fs, pc), True


def _estimate_start_wavelet(record: ShotRecord, v: np.ndarray, fcfg: FWIConfig) -> np.ndarray:
    import torch

    from hybridfwi.inversion.fwi import forward_config
    from hybridfwi.inversion.wavelet_estimation import estimate_wavelet
    from hybridfwi.physics.forward import resolve_device, simulate

    s = record.survey
    dev = resolve_device(fcfg.device)
    w0 = s.wavelet.array(s.nt, s.dt)
    with torch.no_grad():
        d = simulate(torch.as_tensor(v, device=dev), s, forward_config(fcfg, dev), source_amplitudes=torch.as_tensor(w0, device=dev))
    return estimate_wavelet(record.data, d.cpu().numpy(), w0)


def invert(cfg: InvertConfig) -> dict:
    """Run every stage into ``cfg.out``; return the report (also written to ``report.json``)."""
    import torch

    from hybridfwi.dl.finetune import load_model
    from hybridfwi.dl.predict import predict_mapped
    from hybridfwi.io.arrays import load_model_file
    from hybridfwi.io.segy import write_model_segy
    from hybridfwi.viz.plots import plot_model_panels, plot_wavelet, save_figure

    out = cfg.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out!r} is a file; give a folder for the run")
    if os.path.isdir(out) and os.listdir(out) and not cfg.resume:
        raise InputError(f"--out {out!r} is not empty; add --resume to continue that run, or choose another --out")
    if not os.path.exists(cfg.survey):
        raise InputError(f"{cfg.survey}: no such file")
    if cfg.adapt not in ("auto", "on", "off"):
        raise InputError(f"--adapt must be auto, on or off, got {cfg.adapt!r}")
    if isinstance(cfg.iterations, bool) or not isinstance(cfg.iterations, int) or cfg.iterations < 1:
        raise InputError(f"--iterations must be a positive integer, got {cfg.iterations!r}")
    st = _Stages(6, cfg.progress)
    st.start("read", f"reading {cfg.survey}")
    problem, field_data = _load_problem(cfg)
    record, water = problem.record, problem.water
    s = record.survey
    g = s.grid
    base = cfg.fwi or FWIConfig()
    fcfg = FWIConfig(**{**base.to_dict(), "bands": list(problem.bands), "low_cut": problem.low_cut, "iterations": cfg.iterations,
                        "device": cfg.device})
    if field_data:
        fcfg.estimate_wavelet = True
        if cfg.fwi is None:  # field amplitudes are uncertain: trace-normalised correlation by default
            fcfg.misfit = "gc"
    if water is not None and water.seabed_depth is not None and fcfg.freeze_above_m is None:
        fcfg.freeze_above_m = float(water.seabed_depth)
    fcfg.validate(s.dt)
    true = load_model_file(cfg.true, g, "true model") if cfg.true else None
    os.makedirs(out, exist_ok=True)
    warnings: list[str] = []

    st.start("start", "1-D reference model" + (" and source wavelet" if field_data else ""))
    v_grad = gradient_model(g, water, vmax=min(4000.0, fcfg.vmax - 1.0))
    if field_data:
        w = _estimate_start_wavelet(record, v_grad, fcfg)
        s = _with_wavelet(s, Wavelet(peak_freq=s.wavelet.peak_freq, samples=tuple(float(v) for v in w)))
        record = ShotRecord(record.data, s, record.t0)
    atomic_save_npy(os.path.join(out, "velocity_gradient.npy"), v_grad)

    _, mcfg = load_model(cfg.model, device="cpu")
    from hybridfwi.dl.mapping import network_frame

    net = Survey.from_dict(mcfg.geometry) if mcfg.geometry else None
    frame = network_frame(s, net) if net is not None else None
    do_adapt = cfg.adapt == "on" or (cfg.adapt == "auto" and frame is not None and not frame.identity)
    adapt_info = None
    model_spec = cfg.model
    if do_adapt:
        st.start("adapt", "adapting the network to this survey (synthetic data in its geometry + LoRA; cached)")
        if "+" in (cfg.model or "") or (cfg.model and os.path.exists(os.path.join(cfg.model, "hybridfwi_adapter.json"))):
            raise InputError("--adapt needs a base checkpoint as --model, not an adapter; or use --adapt off")
        from hybridfwi.dl.adapt import LAND_FAMILIES, MARINE_FAMILIES, AdaptConfig, adapt_to_survey

        acfg = AdaptConfig(families=MARINE_FAMILIES if water is not None else LAND_FAMILIES, count=cfg.adapt_samples,
                           epochs=cfg.adapt_epochs, cache=cfg.cache, device=cfg.device, progress=cfg.progress,
                           water=(water.velocity, water.seabed_depth) if water is not None and water.seabed_depth else None)
        adapter, adapt_info = adapt_to_survey(s, cfg.model, acfg)
        model_spec = adapter
    st.start("dl", "DL prediction (the initial model)")
    dl_path = os.path.join(out, "velocity_dl.npy")
    model, mcfg = load_model(model_spec, device="cpu")
    with torch.no_grad():
        dl, frame = predict_mapped(model, mcfg, record, cfg.device)
    span = fcfg.vmax - fcfg.vmin
    v_dl = np.clip(dl.values, fcfg.vmin + 1e-3 * span, fcfg.vmax - 1e-3 * span)
    if water is not None:
        v_dl = impose_water(v_dl, g.z, water)
    if frame is not None:
        warnings += [] if do_adapt else frame.warnings
    for w_ in warnings:
        log.warning(w_)
    atomic_save_npy(dl_path, v_dl)
    write_model_segy(os.path.join(out, "velocity_dl.segy"), VelocityModel(v_dl, g), note="hybridfwi DL prediction (initial model)")

    st.start("fwi", f"FWI from the DL model: bands {', '.join('full' if b is None else f'{b:g} Hz' for b in fcfg.stages)}, "
                    f"{fcfg.iterations} iterations each")
    fwi_dir = os.path.join(out, "fwi")
    resume = cfg.resume and os.path.exists(os.path.join(fwi_dir, CHECKPOINT))
    if not resume and os.path.isdir(fwi_dir):
        shutil.rmtree(fwi_dir)
    rep = run_fwi(FWIRun(survey=cfg.survey, initial=dl_path, out=fwi_dir, config=fcfg, true=cfg.true, resume=resume,
                         progress=cfg.progress, record=record))
    refined = np.load(os.path.join(fwi_dir, "model.npy"))
    atomic_save_npy(os.path.join(out, "velocity_refined.npy"), refined)
    shutil.copyfile(os.path.join(fwi_dir, "model.segy"), os.path.join(out, "velocity_refined.segy"))

    st.start("report", "report and figures")
    from hybridfwi.inversion.fwi import data_misfit

    wavelet = np.load(os.path.join(fwi_dir, "wavelet.npy"))
    misfit_grad = data_misfit(v_grad, record, fcfg, wavelet)
    panels = [VelocityModel(v_grad, g), VelocityModel(v_dl, g), VelocityModel(refined, g)]
    titles = ["1-D reference", "DL prediction" + (" (adapted)" if do_adapt else ""), "refined (FWI)"]
    if true is not None:
        panels.append(VelocityModel(true, g))
        titles.append("true")
    save_figure(plot_model_panels(panels, titles), os.path.join(out, "models.png"))
    save_figure(plot_wavelet(wavelet, s.dt, "source wavelet used (final band)"), os.path.join(out, "wavelet.png"))
    st.stop()
    report = {
        "survey": os.path.abspath(cfg.survey),
        "field_data": field_data,
        "dl_model": cfg.model or "default (shipped foundation model)",
        "adapted": adapt_info,
        "network_frame": frame.to_dict() if frame is not None else None,
        "problem": problem.info,
        "repaired_on_read": problem.info.get("read", []),
        "grid": g.to_dict(),
        "misfit": fcfg.misfit,
        "data_misfit_band": rep["data_misfit_band"],
        "data_misfit_gradient": misfit_grad,
        "data_misfit_dl": rep["data_misfit_initial"],
        "data_misfit_refined": rep["data_misfit_final"],
        "wavelet": {"file": "fwi/wavelet.npy", "dt_s": s.dt, "figure": "wavelet.png",
                    "estimated": bool(fcfg.estimate_wavelet)},
        "timings_s": st.timings | {"total": sum(st.timings.values())},
        "fwi": {k: v for k, v in rep.items() if k not in ("survey", "initial")},
        "figures": {"models": "models.png", "gathers": "fwi/gathers.png", "misfit": "fwi/misfit.png", "wavelet": "wavelet.png"},
        "warnings": warnings,
    }
    if water is not None:
        report["water"] = {"velocity_ms": water.velocity, "seabed_depth_picked_m": water.seabed_depth,
                           "seabed_depth_refined_model_m": seabed_from_model(refined, g.z, water.velocity),
                           "water_velocity_refined_model_ms": float(np.median(refined[g.z < (water.seabed_depth or 0)]))
                           if water.seabed_depth else None}
    if true is not None:
        from hybridfwi.metrics import rmse, ssim

        report["model_rmse_ms"] = {"gradient": rmse(v_grad, true), "dl": rmse(v_dl, true), "refined": rmse(refined, true)}
        report["ssim"] = {"gradient": ssim(v_grad, true), "dl": ssim(v_dl, true), "refined": ssim(refined, true)}
    atomic_write_text(os.path.join(out, "report.json"), json.dumps(report, indent=2, default=str) + "\n")
    return report
