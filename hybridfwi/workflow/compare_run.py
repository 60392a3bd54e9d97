"""``hybridfwi compare``: the methods of :mod:`hybridfwi.hybrid.compare` on one survey, written side by side.

The folder holds ``results.json`` (one record per method: ``mae_ms``, ``rmse_ms``, ``mae_norm``,
``ssim`` with a true model, ``data_misfit``, ``fwi_iterations``, ``wall_time_s``, ``curve``; plus
time to accuracy), ``results.md``, ``models/<method>.npy``, and the figures ``models.png`` (every
model beside the true one, one colour scale), ``errors.png`` (model minus true) and ``curves.png``
(misfit and RMSE per iteration, every method on one plot). Each finished method is kept in
``methods/``, and each FWI checkpoints itself, so ``--resume`` redoes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

import numpy as np

from hybridfwi.core.model import VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.hybrid.compare import CompareConfig, compare
from hybridfwi.hybrid.pipeline import HybridConfig, stderr_log
from hybridfwi.inversion.problem import ProblemConfig
from hybridfwi.io.reader import GeometryOverride
from hybridfwi.workflow.runs import RunFolder, load_problem

__all__ = ["CompareRun", "run_compare", "write_compare", "results_markdown"]


@dataclass
class CompareRun:
    """Attributes: survey file, output folder, hybrid/FWI settings, methods, ``fwi_smooth``'s sigma (m),
    true model file, user starting models (files), problem choices, geometry, resume, progress, and the
    settings a resumed run may have recorded differently (``renew``: those of methods being redone)."""

    survey: str
    out: str
    hybrid: HybridConfig = field(default_factory=HybridConfig)
    methods: tuple = ("dl", "hybrid", "fwi_gradient", "fwi_smooth")
    smooth_sigma_m: float = 250.0
    true: str | None = None
    initial: list = field(default_factory=list)
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    geometry: GeometryOverride = field(default_factory=GeometryOverride)
    resume: bool = False
    progress: bool = True
    renew: tuple = ()


def _record_for_json(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ("model", "start_model")}


def run_compare(run: CompareRun) -> dict:
    """Compare the methods on ``run.survey``; write the folder; return the results (as in ``results.json``)."""
    from hybridfwi.io.arrays import load_model_file

    settings = {"survey": run.survey, "hybrid": {k: v for k, v in run.hybrid.__dict__.items() if k != "fwi"} |
                {"fwi": run.hybrid.fwi.to_dict() if run.hybrid.fwi else None}, "methods": list(run.methods),
                "smooth_sigma_m": run.smooth_sigma_m, "true": run.true, "initial": list(run.initial),
                "problem": run.problem.to_dict(), "geometry": run.geometry.__dict__}
    folder = RunFolder(run.out, "compare", settings, run.resume, renew=run.renew).check()
    sf, problem = load_problem(run.survey, run.geometry, run.problem)
    g = problem.grid
    true = load_model_file(run.true, g, "true model (--true)") if run.true else None
    initial = {}
    for path in run.initial:
        name = os.path.splitext(os.path.basename(path))[0]
        initial[name] = load_model_file(path, g, "--initial model")
    methods = tuple(run.methods) + (("fwi_user",) if initial and "fwi_user" not in run.methods else ())
    if true is None and methods and set(methods) <= {"fwi_smooth"}:  # not just dropped, leaving nothing to run
        raise InputError("--methods fwi_smooth needs --true MODEL (its start is the smoothed true model); add --true or other methods")
    cfg = CompareConfig(hybrid=run.hybrid, methods=methods, smooth_sigma_m=run.smooth_sigma_m, initial=initial)
    cfg.validate(true is not None)
    if any(m in cfg.methods for m in ("dl", "hybrid")):
        from hybridfwi.dl.finetune import load_model

        load_model(run.hybrid.model, device="cpu")
    from hybridfwi.hybrid.pipeline import fwi_config

    fwi_config(problem, run.hybrid)  # the one FWI configuration of every method, checked before anything is written
    folder.create()
    finished = {}
    if run.resume:
        for name in os.listdir(folder.file("methods")) if os.path.isdir(os.path.join(folder.path, "methods")) else []:
            if name.endswith(".json"):
                try:
                    with open(os.path.join(folder.path, "methods", name), encoding="utf-8") as fh:
                        rec = json.load(fh)
                    rec["model"] = np.load(os.path.join(folder.path, "models", name[:-5] + ".npy"), allow_pickle=False)
                    if np.shape(rec["model"]) != g.shape:
                        continue
                except (OSError, ValueError, EOFError, TypeError):  # damaged by hand or a full disk: that method is redone
                    continue
                finished[name[:-5]] = rec

    def keep(name: str, rec: dict) -> None:
        folder.save_npy(f"models/{_safe(name)}.npy", rec["model"])
        folder.save_json(f"methods/{_safe(name)}.json", _record_for_json(rec))

    ckpts = {m: folder.file("checkpoints", f"{_safe(m)}.pt") for m in ("hybrid", "fwi_gradient", "fwi_smooth",
                                                                       *[f"fwi_user:{n}" for n in initial])}
    ckpts["hybrid_pga"] = folder.file("checkpoints", "hybrid_physics.pt")
    res = compare(problem, cfg, true, log=stderr_log if run.progress else None, progress=run.progress, checkpoints=ckpts,
                  resume=run.resume, on_method=keep, finished={_unsafe(k): v for k, v in finished.items()})
    return write_compare(folder, problem, res, true, run.survey)


def _safe(name: str) -> str:
    """A method name as a file name, reversibly (``%`` escapes)."""
    return name.replace("%", "%25").replace(":", "%3A").replace("/", "%2F")


def _unsafe(name: str) -> str:
    return name.replace("%2F", "/").replace("%3A", ":").replace("%25", "%")


def write_compare(folder: RunFolder, problem, res: dict, true: np.ndarray | None, survey: str) -> dict:
    """``results.json``, ``results.md`` and the figures of a compare result."""
    from hybridfwi.viz.plots import plot_compare_curves, plot_model_panels

    g = problem.grid
    out = {"survey": survey, "grid": g.to_dict(), "has_true": true is not None, "band_hz": res["band_hz"],
           "fwi_config": res["fwi_config"], "time_to_accuracy": res["time_to_accuracy"], "timings_s": res["timings_s"],
           "frame": res["frame"], "adapted": res["adapted"], "warnings": res["warnings"], "problem": problem.info,
           "methods": {k: _record_for_json(v) for k, v in res["methods"].items()}}
    folder.save_json("results.json", out)
    folder.save_text("results.md", results_markdown(out))
    models = [VelocityModel(res["reference"], g)] + [VelocityModel(v["model"], g) for v in res["methods"].values()]
    titles = ["1-D reference"] + list(res["methods"])
    if true is not None:
        models.append(VelocityModel(true, g))
        titles.append("true")
    folder.save_figure("models.png", plot_model_panels(models, titles))
    if true is not None:
        errs = [VelocityModel(np.abs(v["model"] - true) + 1e-3, g) for v in res["methods"].values()]
        folder.save_figure("errors.png", plot_model_panels(errs, [f"|{n} - true|" for n in res["methods"]], vmin=0.0,
                                                           cmap="magma", label="absolute error (m/s)"))
    folder.save_figure("curves.png", plot_compare_curves({k: v["curve"] for k, v in res["methods"].items()}))
    return out


def results_markdown(out: dict) -> str:
    """One table of the methods (and time to accuracy)."""
    has_true = out["has_true"]
    head = "| method | data misfit | FWI iterations | wall time (s) |" + (" MAE (m/s) | RMSE (m/s) | MAE (norm.) | SSIM |" if has_true else "")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name, r in out["methods"].items():
        row = f"| {name} | {r['data_misfit']:.4g} | {r['fwi_iterations']} | {r['wall_time_s']:.0f} |"
        if has_true:
            row += f" {r['mae_ms']:.1f} | {r['rmse_ms']:.1f} | {r['mae_norm']:.4f} | {r['ssim']:.3f} |"
        lines.append(row)
    tta = out.get("time_to_accuracy") or {}
    if tta:
        lines += ["", "Time to reach fwi_gradient's final " + next(iter(tta.values()))["measure"].replace("_ms", " (m/s)") + ":", "",
                  "| method | iterations | seconds |", "|---|---|---|"]
        for name, t in tta.items():
            it = "not reached" if t["iterations"] is None else f"{t['iterations']} of {t['of_iterations']}"
            sec = "" if t["seconds"] is None else f"{t['seconds']:.0f}"
            lines.append(f"| {name} | {it} | {sec} |")
    return "\n".join(lines) + "\n"

