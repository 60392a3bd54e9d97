"""``hybridfwi invert``: a survey file in, the hybrid run, a run folder out.

Writes ``velocity_gradient.npy`` (1-D reference), ``velocity_dl.npy/.segy`` (the network's start),
``velocity_start.npy`` (the start the safeguard chose), ``velocity_refined.npy/.segy``,
``report.json``, ``models.png``, ``wavelet.png`` and ``fwi/`` (``history.json``, ``gathers.png``,
``misfit.png``, the resumable ``checkpoint.pt``). Interrupted anywhere, ``--resume`` reaches the
result of an uninterrupted run: the adapter comes from its cache (which resumes itself), the
physics-guided steps and FWI from their checkpoints, everything else is recomputed identically.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.model import VelocityModel
from hybridfwi.hybrid.pipeline import HybridConfig, run_hybrid, stderr_log
from hybridfwi.inversion.problem import ProblemConfig
from hybridfwi.io.reader import GeometryOverride
from hybridfwi.workflow.runs import RunFolder, load_problem

__all__ = ["InvertRun", "run_invert"]


@dataclass
class InvertRun:
    """Everything ``hybridfwi invert`` takes.

    Attributes:
        survey: shot-gather SEG-Y/SU file. out: run folder.
        hybrid: the network, adaptation, FWI budget and safeguard settings.
        problem: grid, bands, time window, water layer choices (None fields: from the data).
        geometry: positions for files without geometry.
        true: true model file on the problem grid (synthetic surveys), to report model errors.
        resume, progress.
    """

    survey: str
    out: str
    hybrid: HybridConfig = field(default_factory=HybridConfig)
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    geometry: GeometryOverride = field(default_factory=GeometryOverride)
    true: str | None = None
    resume: bool = False
    progress: bool = True


def run_invert(run: InvertRun) -> dict:
    """Run every stage into ``run.out``; return the report (also written to ``report.json``)."""
    from hybridfwi.inversion.fwi import data_misfit
    from hybridfwi.io.arrays import load_model_file
    from hybridfwi.metrics import model_metrics
    from hybridfwi.viz.plots import plot_model_panels, plot_wavelet

    settings = {"survey": run.survey, "hybrid": {k: v for k, v in run.hybrid.__dict__.items() if k != "fwi"} |
                {"fwi": run.hybrid.fwi.to_dict() if run.hybrid.fwi else None}, "problem": run.problem.to_dict(),
                "geometry": run.geometry.__dict__, "true": run.true}
    folder = RunFolder(run.out, "invert", settings, run.resume).check()
    run.hybrid.validate()
    log = stderr_log if run.progress else None
    sf, problem = load_problem(run.survey, run.geometry, run.problem)
    g = problem.grid
    true = load_model_file(run.true, g, "true model") if run.true else None
    from hybridfwi.dl.finetune import load_model

    load_model(run.hybrid.model, device="cpu")  # a damaged or missing network is bad input: before anything is written
    from hybridfwi.hybrid.pipeline import fwi_config

    fwi_config(problem, run.hybrid)  # the FWI settings this problem gets, checked before anything is written
    if log:  # only now: bad input is one line, with no stage line before it
        log(f"[0/6] read {run.survey}")
    folder.create()
    res = run_hybrid(problem, run.hybrid, true=true, fwi_checkpoint=folder.file("fwi", "checkpoint.pt"), resume=run.resume,
                     log=log, progress=run.progress, pga_checkpoint=folder.file("physics_checkpoint.pt"))
    prep, fcfg = res.prepared, res.prepared.fcfg
    refined = res.fwi.model.values
    band = fcfg.stages[-1]
    estimate = problem.estimate_wavelet
    misfits = {}
    stages_models = [("gradient", prep.reference), ("dl", prep.dl), ("start", res.start)]
    if res.pga is not None:
        stages_models.append(("physics", res.pga.velocity))
    stages_models.append(("refined", refined))
    for name, v in stages_models:
        misfits[name], _ = data_misfit(VelocityModel(v, g), prep.record, fcfg, prep.wavelet, band_hz=band, estimate=estimate)
    folder.save_npy("velocity_gradient.npy", prep.reference)
    folder.save_model("velocity_dl", VelocityModel(prep.dl, g), note="hybridfwi DL prediction (initial model)")
    folder.save_npy("velocity_start.npy", res.start)
    if res.pga is not None:
        folder.save_npy("velocity_physics.npy", res.pga.velocity)
    folder.save_model("velocity_refined", res.fwi.model, note="hybridfwi refined model (FWI from the chosen start)")
    folder.save_npy("fwi/wavelet.npy", res.fwi.wavelet)
    folder.save_json("fwi/history.json", res.fwi.history)
    panels = [VelocityModel(prep.reference, g), VelocityModel(prep.dl, g), VelocityModel(refined, g)]
    titles = ["1-D reference", "DL prediction" + (" (adapted)" if prep.adapt_info else ""), "refined (FWI)"]
    if res.choice is not None and res.choice.name not in ("dl", "reference"):
        panels.insert(2, VelocityModel(res.start, g))
        titles.insert(2, f"start ({res.choice.name})")
    if res.pga is not None:
        panels.insert(len(panels) - 1, VelocityModel(res.pga.velocity, g))
        undone = res.pga.held_out is not None and not res.pga.held_out["kept"]
        titles.insert(len(titles) - 1, f"after {res.pga.summary().get('steps', '')} physics-guided steps"
                      + (" (undone: held-out band)" if undone else ""))
    if true is not None:
        panels.append(VelocityModel(true, g))
        titles.append("true")
    folder.save_figure("models.png", plot_model_panels(panels, titles))
    folder.save_figure("wavelet.png", plot_wavelet(res.fwi.wavelet, prep.record.survey.dt, "source wavelet used (final band)"))
    from hybridfwi.viz.plots import plot_gather_comparison, plot_history
    from hybridfwi.workflow.fwi_run import _gathers

    folder.save_figure("fwi/misfit.png", plot_history(res.fwi.history))
    folder.save_figure("fwi/gathers.png", plot_gather_comparison(*_gathers(prep.record, g, [(res.fwi_start, prep.wavelet),
                                                                                              (refined, res.fwi.wavelet)], fcfg)))
    label = "full band" if band is None else f"<= {band:g} Hz"
    report = {
        "survey": os.path.abspath(run.survey),
        "field_data": problem.field_data,
        "dl_model": run.hybrid.model or "default (shipped foundation model)",
        "adapted": prep.adapt_info,
        "network_frame": prep.frame.to_dict() if prep.frame is not None else None,
        "dl_flip": prep.flip,
        "problem": problem.info,
        "repaired_on_read": problem.info.get("read", []),
        "grid": g.to_dict(),
        "misfit": fcfg.misfit,
        "data_misfit_band": label + ("" if fcfg.low_cut is None else f", >= {fcfg.low_cut:g} Hz"),
        "data_misfit_wavelet": "estimated for each model" if estimate else "the known source wavelet",
        "data_misfit_gradient": misfits["gradient"],
        "data_misfit_dl": misfits["dl"],
        "data_misfit_start": misfits["start"],
        "data_misfit_physics": misfits.get("physics"),
        "data_misfit_refined": misfits["refined"],
        "start": {"chosen": res.choice.name if res.choice else "dl", "low_band_misfits": res.choice.misfits if res.choice else None,
                  "evidence_over_reference": res.choice.evidence_record() if res.choice else None,
                  "band_hz": res.choice.band_hz if res.choice else None, "message": res.choice.message if res.choice else None},
        "physics_guided": None if res.pga is None else res.pga.summary(),
        "physics_guided_skipped": res.pga_skipped,
        "wavelet": {"file": "fwi/wavelet.npy", "dt_s": prep.record.survey.dt, "figure": "wavelet.png", "estimated": estimate},
        "timings_s": res.timings | {"total": sum(res.timings.values())},
        "fwi": {"config": fcfg.to_dict(), "iterations": len(res.fwi.history), "events": res.fwi.events,
                "stages": [("full band" if b is None else f"<= {b:g} Hz") for b in fcfg.stages]},
        "curve": res.curve,
        "figures": {"models": "models.png", "gathers": "fwi/gathers.png", "misfit": "fwi/misfit.png", "wavelet": "wavelet.png"},
        "warnings": prep.warnings + ([problem.info["water"]] if isinstance(problem.info.get("water"), str) else [])
        + ([res.choice.message] if res.choice and res.choice.name != "dl" else []),
    }
    w = problem.water
    if w is not None:
        from hybridfwi.hybrid.start import seabed_from_model

        report["water"] = {"velocity_ms": w.velocity, "seabed_depth_picked_m": w.seabed_depth, "method": w.method,
                           "seabed_depth_refined_model_m": seabed_from_model(refined, g.z, w.velocity),
                           "water_velocity_refined_model_ms": float(np.median(refined[g.z < (w.seabed_depth or 0)]))
                           if w.seabed_depth else None}
    if true is not None:
        report["metrics"] = {name: model_metrics(v, true) for name, v in
                             stages_models}
        report["model_rmse_ms"] = {k: v["rmse_ms"] for k, v in report["metrics"].items()}
    folder.save_json("report.json", report)
    return report
