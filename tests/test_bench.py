"""Benchmark runs: a suite run is resumable, its aggregate comes from the case files, and ``redo``
reruns chosen methods while keeping the others' records byte for byte."""

import json
import os

import numpy as np
import pytest

from hybridfwi.bench.run import SuiteRun, run_suite
from hybridfwi.bench.suites import make_suite
from hybridfwi.errors import InputError
from hybridfwi.hybrid.pipeline import HybridConfig


@pytest.fixture(scope="module")
def tiny_suite(tmp_path_factory):
    out = tmp_path_factory.mktemp("suite") / "tiny"
    make_suite("tiny", str(out), per_family=1, progress=False)  # flatvel-a-0, curvefault-a-0
    return str(out)


def _bytes(path):
    with open(path, "rb") as fh:
        return fh.read()


def test_redo_reruns_one_method_and_keeps_the_others(tiny_suite, tmp_path):
    out = str(tmp_path / "bench")
    run = SuiteRun(suite=tiny_suite, out=out, hybrid=HybridConfig(device="cpu", iterations=1), methods=("dl", "fwi_gradient"),
                   progress=False, cases=["flatvel-a-0"])
    first = run_suite(run)
    cases = sorted(first["cases"])
    assert cases and "redone" not in first
    case = os.path.join(out, "cases", cases[0])
    dl_before = _bytes(os.path.join(case, "methods", "dl.json"))
    grad_before = json.loads(_bytes(os.path.join(case, "methods", "fwi_gradient.json")))
    model_before = np.load(os.path.join(case, "models", "fwi_gradient.npy"))
    # a finished run is not redone ...
    mtime = os.path.getmtime(os.path.join(case, "methods", "fwi_gradient.json"))
    again = run_suite(run)
    assert os.path.getmtime(os.path.join(case, "methods", "fwi_gradient.json")) == mtime and "redone" not in again
    # ... unless asked: fwi_gradient is rerun (the same numbers: FWI is deterministic), dl is kept as it was
    run.redo = ("fwi_gradient",)
    res = run_suite(run)
    assert _bytes(os.path.join(case, "methods", "dl.json")) == dl_before
    grad_after = json.loads(_bytes(os.path.join(case, "methods", "fwi_gradient.json")))
    assert grad_after["wall_time_s"] != grad_before["wall_time_s"]  # a new run, not the old file
    assert grad_after["rmse_ms"] == pytest.approx(grad_before["rmse_ms"], rel=1e-5)
    np.testing.assert_allclose(np.load(os.path.join(case, "models", "fwi_gradient.npy")), model_before, rtol=1e-5)
    assert res["redone"][0]["methods"] == ["fwi_gradient"] and sorted(res["redone"][0]["cases"]) == cases
    assert res["redone"][0]["machine"] == (res["machine"]["gpu"] or res["machine"]["cpu"])  # where the redo ran
    # ... and with which weights: the shipped network's file digest
    import hashlib

    from hybridfwi.dl.checkpoint import DEFAULT_MODEL
    assert res["redone"][0]["weights_sha256"] == hashlib.sha256(_bytes(os.path.join(DEFAULT_MODEL, "model.safetensors"))).hexdigest()
    for c in cases:
        assert res["cases"][c]["methods"]["fwi_gradient"]["rmse_ms"] == pytest.approx(first["cases"][c]["methods"]["fwi_gradient"]["rmse_ms"],
                                                                                      rel=1e-5)
    # the record of what was redone survives a later plain resume
    run.redo = ()
    assert run_suite(run)["redone"] == res["redone"]
    # a method the run does not have cannot be redone
    run.redo = ("hybrid",)
    with pytest.raises(InputError, match="--redo hybrid"):
        run_suite(run)


def test_a_redo_of_every_method_reruns_a_case_whose_shared_settings_changed(tiny_suite, tmp_path):
    """A case recorded before a setting every method reads changed (here the problem's bands,
    ``top_stage``) is refused by a partial redo, and rerun from scratch by a redo of every method."""
    out = str(tmp_path / "bench")
    run = SuiteRun(suite=tiny_suite, out=out, hybrid=HybridConfig(device="cpu", iterations=1), methods=("dl", "fwi_gradient"),
                   progress=False, cases=["flatvel-a-0"])
    run_suite(run)
    case = os.path.join(out, "cases", "flatvel-a-0")
    marker = os.path.join(case, "run.json")
    rec = json.loads(_bytes(marker))
    assert rec["settings"]["problem"]["top_stage"] == 2.0
    del rec["settings"]["problem"]["top_stage"]  # as recorded before the option existed
    with open(marker, "w", encoding="utf-8") as fh:
        json.dump(rec, fh)
    os.remove(os.path.join(case, "results.json"))  # an unfinished case: its compare must resume
    with pytest.raises(InputError, match="top_stage"):
        run_suite(run)
    run.redo = ("dl", "fwi_gradient")
    res = run_suite(run)
    assert json.loads(_bytes(marker))["settings"]["problem"]["top_stage"] == 2.0
    grad = json.loads(_bytes(os.path.join(case, "methods", "fwi_gradient.json")))
    assert [p["band_hz"] for p in grad["curve"][:-1]] == [3.0, 5.0, 13.0, 26.0]  # one iteration in each of the four bands
    assert grad["fwi_iterations"] == 4
    assert res["redone"][0]["methods"] == ["dl", "fwi_gradient"]


def test_a_noise_draw_is_the_same_cases_with_independent_noise_at_the_same_level(tiny_suite, tmp_path):
    """``noise_draw`` 1: the same true models and clean data; the observed data differ by the
    difference of two independent 30 dB noises, whose power is 2 x 10**-3 of the signal's."""
    from hybridfwi.bench.suites import NOISE_DRAW_STRIDE, noise_seed
    from hybridfwi.io.reader import read_survey

    out = str(tmp_path / "tiny1")
    m = make_suite("tiny", out, per_family=1, progress=False, noise_draw=1)
    assert m["noise_draw"] == 1 and "noise draw 1" in m["how"]
    assert noise_seed(1, 0) == 1 and noise_seed(1, 2) == 1 + 2 * NOISE_DRAW_STRIDE
    with open(os.path.join(tiny_suite, "manifest.json"), encoding="utf-8") as fh:
        assert "noise_draw" not in json.load(fh)  # draw 0 is the published suite, unchanged
    for case in ("flatvel-a-0", "curvefault-a-0"):
        a, b = (os.path.join(root, "cases", case) for root in (tiny_suite, out))
        np.testing.assert_array_equal(np.load(os.path.join(a, "true.npy")), np.load(os.path.join(b, "true.npy")))
        d0 = read_survey(os.path.join(a, "survey.segy")).record.data.astype(np.float64)
        d1 = read_survey(os.path.join(b, "survey.segy")).record.data.astype(np.float64)
        diff = d1 - d0
        # n1 - n0 with n ~ N(0, P / 1000): power 2 P / 1000 (P: the clean power, within 0.1 % of d0's)
        assert np.mean(diff ** 2) / np.mean(d0 ** 2) == pytest.approx(2e-3, rel=0.03)
        # the difference holds no signal: its correlation with the data is a noise's (about -0.02), which
        # a changed clean part (another model or modelling) would not give
        assert abs(np.sum(diff * d0)) / np.sqrt(np.sum(diff ** 2) * np.sum(d0 ** 2)) < 0.05
    # a folder keeps its draw: resuming it as another draw is refused before anything is written
    with pytest.raises(InputError, match="noise draw 1 of suite tiny, not draw 2"):
        make_suite("tiny", out, per_family=1, progress=False, noise_draw=2)
    with pytest.raises(InputError, match="--noise-draw must be a non-negative integer"):
        make_suite("tiny", str(tmp_path / "bad"), per_family=1, progress=False, noise_draw=-1)
    assert not os.path.exists(tmp_path / "bad")


def test_run_method_option_runs_only_the_methods_named(tiny_suite, tmp_path):
    """``benchmark run --method dl``: the case holds the DL record alone, and a resume that names
    other methods is refused (the folder keeps the methods it was started with)."""
    from click.testing import CliRunner

    from hybridfwi.cli.main import cli

    out = str(tmp_path / "bench")
    args = ["benchmark", "run", "--suite", tiny_suite, "--out", out, "--case", "flatvel-a-0", "--no-progress"]
    r = CliRunner().invoke(cli, args + ["--method", "dl"])
    assert r.exit_code == 0, r.output
    with open(os.path.join(out, "cases", "flatvel-a-0", "results.json"), encoding="utf-8") as fh:
        assert sorted(json.load(fh)["methods"]) == ["dl"]
    r = CliRunner().invoke(cli, args + ["--method", "hybrid"])
    assert r.exit_code == 2 and "other settings (methods)" in r.output and len(r.output.strip().splitlines()) == 1


def test_a_run_of_one_case_keeps_the_other_finished_cases_in_the_aggregate(tiny_suite, tmp_path):
    """``--case X`` runs X alone but ``results.json`` covers every finished case (it once held X only)."""
    out = str(tmp_path / "bench")
    run = SuiteRun(suite=tiny_suite, out=out, hybrid=HybridConfig(device="cpu", iterations=1), methods=("dl",),
                   progress=False, cases=["flatvel-a-0"])
    assert sorted(run_suite(run)["cases"]) == ["flatvel-a-0"]
    run.cases = ["curvefault-a-0"]
    res = run_suite(run)
    assert sorted(res["cases"]) == ["curvefault-a-0", "flatvel-a-0"] and res["overall"]["cases"] == 2
    on_disk = json.loads(_bytes(os.path.join(out, "results.json")))
    assert sorted(on_disk["cases"]) == ["curvefault-a-0", "flatvel-a-0"]
    # each case's record is its own file's
    for c in ("curvefault-a-0", "flatvel-a-0"):
        own = json.loads(_bytes(os.path.join(out, "cases", c, "results.json")))
        assert on_disk["cases"][c]["methods"]["dl"]["rmse_ms"] == pytest.approx(own["methods"]["dl"]["rmse_ms"])


def test_a_redo_accepts_a_record_made_with_other_settings_of_the_redone_method_only(tmp_path):
    """``--redo hybrid`` after a hybrid-only default changed: the run's record may differ in those
    settings (and is rewritten with today's), never in settings other methods read."""
    from hybridfwi.bench.run import _renewable
    from hybridfwi.workflow.runs import RunFolder

    old = {"suite": "s", "hybrid": {"iterations": 15, "pga_lr": 0.001, "pga_rank": 4}}
    RunFolder(tmp_path / "r", "benchmark", old).check().create()
    new = {"suite": "s", "hybrid": {"iterations": 15, "pga_lr": 0.003, "pga_rank": 4, "pga_bands": "first"}}
    with pytest.raises(InputError, match="other settings"):
        RunFolder(tmp_path / "r", "benchmark", new, resume=True).check()
    assert _renewable(("fwi_gradient",)) == () and "hybrid.pga_lr" in _renewable(("dl", "hybrid"))
    assert "hybrid.iterations" not in _renewable(("hybrid",))  # FWI's budget: every method reads it
    # the DL prediction's settings: only when both methods that read it are redone
    assert "hybrid.dl_flip" in _renewable(("dl", "hybrid")) and "hybrid.dl_flip" not in _renewable(("hybrid",))
    assert "hybrid.dl_flip" not in _renewable(("dl",))
    for name in ("adapt", "adapt_samples", "adapt_epochs", "adapt_rank"):  # adaptation changes the DL prediction only
        assert f"hybrid.{name}" in _renewable(("dl", "hybrid")) and f"hybrid.{name}" not in _renewable(("hybrid",))
    RunFolder(tmp_path / "r", "benchmark", new, resume=True, renew=_renewable(("hybrid",))).check().create()
    assert json.loads((tmp_path / "r" / "run.json").read_text())["settings"] == new
    # the budget is not the hybrid's alone: a record with another one is refused even when redoing the hybrid
    other = {"suite": "s", "hybrid": {**new["hybrid"], "iterations": 10}}
    with pytest.raises(InputError, match="other settings"):
        RunFolder(tmp_path / "r", "benchmark", other, resume=True, renew=_renewable(("hybrid",))).check()


def test_a_setting_added_later_leaves_older_runs_resumable(tmp_path):
    """A run recorded before an option existed resumes when the option keeps its old behaviour
    (``ADDED_SETTINGS``), and is refused when the option asks for something else."""
    from hybridfwi.hybrid.pipeline import HybridConfig
    from hybridfwi.workflow.runs import ADDED_SETTINGS, RunFolder

    from hybridfwi.inversion.config import FWIConfig

    for k, v in ADDED_SETTINGS.items():  # each old behaviour is today's default
        owner = FWIConfig() if k.startswith("hybrid.fwi.") else HybridConfig()
        assert getattr(owner, k.split(".")[-1]) == v, k
    old = {"suite": "s", "hybrid": {"iterations": 15, "pga_lr": 0.003}}
    RunFolder(tmp_path / "r", "benchmark", old).check().create()
    RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "pga_warmup": 0}}, resume=True).check()
    with pytest.raises(InputError, match="other settings"):
        RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "pga_warmup": 4}}, resume=True).check()
    RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "pga_holdout_evidence": 0.0}}, resume=True).check()
    with pytest.raises(InputError, match="pga_holdout_evidence"):  # the message names the setting
        RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "pga_holdout_evidence": 1.0}},
                  resume=True).check()
    RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "fwi_after_pga": "all"}}, resume=True).check()
    with pytest.raises(InputError, match="fwi_after_pga"):
        RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "fwi_after_pga": "last"}},
                  resume=True).check()
    RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "pga_after_adapt": True}}, resume=True).check()
    with pytest.raises(InputError, match="pga_after_adapt"):
        RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "pga_after_adapt": False}},
                  resume=True).check()
    RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "adapt_families": None}}, resume=True).check()
    with pytest.raises(InputError, match="adapt_families"):
        RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "adapt_families": ["basin-marine"]}},
                  resume=True).check()
    old_fwi = {"suite": "s", "hybrid": {**old["hybrid"], "fwi": {"iterations": 15}}}
    RunFolder(tmp_path / "f", "benchmark", old_fwi).check().create()
    RunFolder(tmp_path / "f", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "fwi": {"iterations": 15, "smooth_wavelengths": 0.0}}},
              resume=True).check()
    with pytest.raises(InputError, match="smooth_wavelengths"):  # a nested setting, too
        RunFolder(tmp_path / "f", "benchmark", {"suite": "s", "hybrid": {**old["hybrid"], "fwi": {"iterations": 15, "smooth_wavelengths": 0.1}}},
                  resume=True).check()
    with pytest.raises(InputError, match="other settings"):  # the rest is still compared
        RunFolder(tmp_path / "r", "benchmark", {"suite": "s", "hybrid": {"iterations": 15, "pga_lr": 0.001, "pga_warmup": 0}},
                  resume=True).check()


def test_the_sparse_dev_cases_are_read_sparsely_and_the_earlier_cases_keep_their_place():
    """The dev suite's sparse-shot cases (four shots at one end of a 3 km streamer) are the regime
    where ``--adapt auto`` adapts: the frame reads under half of the network's traces there, and
    drops the windows with no shots; they come last, so every earlier case keeps its noise seed."""
    from hybridfwi.bench.suites import _geometry, _plan
    from hybridfwi.core.survey import load_geometry
    from hybridfwi.dl.frame import network_frame

    plan = _plan("dev", 2)
    sparse = [k for k, c in enumerate(plan) if c["family"] == "basin-sparse"]
    assert sparse == list(range(len(plan) - 4, len(plan))) and len(plan) == 31
    assert [c["id"] for c in plan[:27]][-6:] == ["flatvel-a-0", "curvevel-a-0", "flatfault-a-0", "curvefault-a-0",
                                                   "flatvel-b-0", "curvevel-b-0"]
    geo = _geometry(plan[sparse[0]])
    s = geo.survey
    assert s.n_shots == 4 and s.free_surface and max(s.source_x) - min(s.source_x) == 75.0
    offsets = [x - r[m] for x, r, m in zip(s.source_x, s.receiver_x, s.receiver_mask)]
    assert all(o.min() == 262.0 and o.max() <= 3262.0 for o in offsets)  # trailing, 262 m to 3.26 km behind
    assert [o.size for o in offsets] == [120, 121, 121, 121]  # the first shot's farthest channel is off the model
    frame = network_frame(geo.grid, s, load_geometry("openfwi"))
    frame.plans()
    assert min(frame.coverage) < 0.5 and frame.dropped  # auto adapts; the windows without shots are dropped
