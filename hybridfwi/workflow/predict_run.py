"""``hybridfwi predict`` and ``hybridfwi evaluate``: the network's models written to disk.

``predict`` on a survey file builds the same problem and the same DL start as ``invert`` (the one
reader, the one problem builder, the one network frame, the same adaptation), so both commands
give the same DL model for the same file and network.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from hybridfwi.core.model import VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.hybrid.pipeline import HybridConfig, Stages, prepare, stderr_log
from hybridfwi.inversion.problem import ProblemConfig
from hybridfwi.io.reader import GeometryOverride
from hybridfwi.workflow.runs import RunFolder, load_problem

__all__ = ["PredictRun", "run_predict", "run_evaluate"]


@dataclass
class PredictRun:
    """Attributes: a survey file or a dataset folder; the output folder; the hybrid settings (network,
    adaptation); the problem choices and geometry (survey files); progress."""

    target: str
    out: str
    hybrid: HybridConfig = field(default_factory=HybridConfig)
    problem: ProblemConfig = field(default_factory=ProblemConfig)
    geometry: GeometryOverride = field(default_factory=GeometryOverride)
    progress: bool = True


def run_predict(run: PredictRun) -> dict:
    """Predict for a survey file (``velocity_dl.npy/.segy/.png``, ``report.json``) or for every sample
    of a dataset folder (``predictions.npy`` ``(n, 1, nz, nx)`` m/s)."""
    if not os.path.exists(run.target):
        raise InputError(f"{run.target!r}: no such file or folder")
    folder = RunFolder(run.out, "predict", {"target": run.target, "model": run.hybrid.model, "adapt": run.hybrid.adapt})
    folder.check()
    if os.path.isdir(run.target):
        from hybridfwi.dl.finetune import load_model
        from hybridfwi.dl.predict import mirror_symmetric, predict_dataset

        model, mcfg = load_model(run.hybrid.model)
        preds = predict_dataset(model, mcfg, run.target, run.hybrid.device, flip=run.hybrid.dl_flip and mirror_symmetric(mcfg))
        folder.create()
        path = folder.save_npy("predictions.npy", preds)
        return {"samples": int(preds.shape[0]), "out": path}
    from hybridfwi.viz.plots import plot_model

    sf, problem = load_problem(run.target, run.geometry, run.problem)
    from hybridfwi.dl.finetune import load_model

    load_model(run.hybrid.model)  # bad network: before anything is written
    folder.create()
    prep = prepare(problem, run.hybrid, Stages(3, stderr_log if run.progress else None), progress=run.progress)
    vm = VelocityModel(prep.dl, problem.grid)
    folder.save_model("velocity_dl", vm, note="hybridfwi DL prediction")
    folder.save_figure("velocity_dl.png", plot_model(vm, title="DL prediction", survey=problem.record.survey))
    report = {"samples": 1, "out": folder.file("velocity_dl.npy"), "vmin": vm.vmin, "vmax": vm.vmax, "grid": problem.grid.to_dict(),
              "network_frame": prep.frame.to_dict(), "dl_flip": prep.flip, "adapted": prep.adapt_info, "problem": problem.info,
              "warnings": prep.warnings}
    folder.save_json("report.json", report)
    return report


def run_evaluate(model: str | None, data: list[str], out: str, device: str = "auto", flip: bool = False) -> dict:
    """Metrics per family (``evaluate``) written to ``out`` (JSON) and a markdown table beside it;
    ``flip``: each prediction averaged with the one from the mirrored data."""
    from hybridfwi.dl.predict import EvalConfig, evaluate, markdown_table
    from hybridfwi.io.atomic import atomic_write_text
    from hybridfwi.workflow.runs import to_json

    if not out.endswith(".json"):
        raise InputError(f"--out {out!r} must be a .json file")
    if os.path.isdir(out):
        raise InputError(f"--out {out!r} is a folder; give a .json file name")
    from hybridfwi.io.atomic import check_parent

    check_parent(out)
    res = evaluate(EvalConfig(model=model, data=list(data), device=device, flip=flip))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    atomic_write_text(out, to_json(res))
    atomic_write_text(os.path.splitext(out)[0] + ".md", markdown_table(res))
    return res
