"""Bad input, command by command: one line ``Error: ...`` naming the problem, exit code 2, no
traceback, and nothing left behind that blocks the corrected command.

Every input is built once per module in a shared workspace (a tiny synthetic survey, hand-damaged
copies of it, of the shipped network and of a tiny dataset, odd ``.npy`` files). Each case runs
in a fresh output folder; afterwards neither that folder nor the workspace may hold anything new
or changed. Some cases are then rerun with the mistake corrected, and must succeed (or, for the
commands that would invert or train, get past every check: the first expensive step is replaced
by a stub that raises :class:`Reached`).
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import struct

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import REAL_DATA, one_line_error, real_file
from hybridfwi.cli.main import cli
from hybridfwi.core import Geometry, Grid, Survey, Wavelet
from hybridfwi.dl.checkpoint import DEFAULT_MODEL

# --------------------------------------------------------------------------------------------- workspace


def _small_geometry() -> Geometry:
    """conftest's small geometry: 40 x 60 cells at 10 m, 3 shots, 30 receivers, 400 samples at 1 ms."""
    survey = Survey(dt=0.001, nt=400, source_x=np.array([50.0, 300.0, 550.0]), source_z=np.full(3, 10.0),
                    receiver_x=np.arange(30) * 20.0, receiver_z=np.full(30, 10.0), wavelet=Wavelet(peak_freq=15.0), name="small")
    return Geometry(Grid(nz=40, nx=60, dz=10.0, dx=10.0), survey)


def invoke(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _ok(result) -> None:
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)


def _copy_survey(w: str, name: str) -> str:
    """A copy of the workspace survey (with its sidecar) under another name."""
    shutil.copy(os.path.join(w, "s.segy"), os.path.join(w, name + ".segy"))
    shutil.copy(os.path.join(w, "s.json"), os.path.join(w, name + ".json"))
    return os.path.join(w, name + ".segy")


def _network(w: str, name: str, weights: bytes | None = None, config: str | None = None, keep_weights: bool = False) -> None:
    """A copy of the shipped network with its weights (or config) replaced."""
    d = os.path.join(w, name)
    os.makedirs(d)
    if config is None:
        shutil.copy(os.path.join(DEFAULT_MODEL, "config.json"), d)
    else:
        with open(os.path.join(d, "config.json"), "w") as fh:
            fh.write(config)
    if keep_weights:
        shutil.copy(os.path.join(DEFAULT_MODEL, "model.safetensors"), d)
    elif weights is not None:
        with open(os.path.join(d, "model.safetensors"), "wb") as fh:
            fh.write(weights)


def _build(w: str) -> None:
    g = _small_geometry()
    with open(os.path.join(w, "G.json"), "w") as fh:
        fh.write(g.to_json())
    _ok(invoke(["synth", "--model", "flatvel-a:1", "--seed", "200000", "--geometry", os.path.join(w, "G.json"),
                "--out", os.path.join(w, "s.segy"), "--device", "cpu"]))
    _ok(invoke(["generate", "--family", "flatvel-a", "--count", "2", "--seed", "200000", "--geometry", os.path.join(w, "G.json"),
                "--out", os.path.join(w, "ds"), "--device", "cpu", "--no-progress"]))
    _ok(invoke(["generate", "--family", "flatvel-a", "--count", "2", "--seed", "1", "--geometry", os.path.join(w, "G.json"),
                "--out", os.path.join(w, "dtr"), "--device", "cpu", "--no-progress"]))  # pretraining seed range
    os.makedirs(os.path.join(w, "adir"))
    true = np.load(os.path.join(w, "s.model.npy"))

    # ---- survey files
    import segyio

    with open(os.path.join(w, "s.segy"), "rb") as fh:
        raw = fh.read()
    with open(os.path.join(w, "trunc.segy"), "wb") as fh:
        fh.write(raw[: len(raw) - 700])
    with open(os.path.join(w, "short.segy"), "wb") as fh:
        fh.write(raw[:1000])
    with open(os.path.join(w, "empty.segy"), "wb"):
        pass
    with open(os.path.join(w, "text.segy"), "w") as fh:
        fh.write("this is not a SEG-Y file\n" * 200)
    with open(os.path.join(w, "text.su"), "w") as fh:
        fh.write("this is not an SU file\n" * 200)
    with open(os.path.join(w, "headers.segy"), "wb") as fh:  # textual and binary headers, no trace
        fh.write(raw[:3600])
    # one NaN sample in trace 17 (shot 1, receiver 17)
    p = _copy_survey(w, "nan")
    with segyio.open(p, "r+", ignore_geometry=True) as f:
        t = f.trace[16]
        t[123] = np.nan
        f.trace[16] = t
    # every other trace says 2 ms in its own header (bytes 117-118), the binary header 1 ms
    p = _copy_survey(w, "altdt")
    with open(p, "r+b") as fh:
        for k in range(1, 90, 2):
            fh.seek(3600 + k * (240 + 4 * 400) + 116)
            fh.write(struct.pack(">H", 2000))
    # geometry sidecar that is damaged
    p = _copy_survey(w, "badside")
    with open(os.path.join(w, "badside.json"), "w") as fh:
        fh.write('{"hybridfwi": "survey sidecar", "wavelet": ')

    # ---- velocity-model files (the true model's grid, 40 x 60)
    np.save(os.path.join(w, "m_good.npy"), true)
    np.save(os.path.join(w, "m_fortran.npy"), np.asfortranarray(true))
    np.save(os.path.join(w, "m_f64.npy"), true.astype(np.float64))
    np.save(os.path.join(w, "m_be.npy"), true.astype(">f4"))
    np.save(os.path.join(w, "m_int.npy"), true.astype(np.int32))
    np.save(os.path.join(w, "m_bool.npy"), true > 2000)
    np.save(os.path.join(w, "m_complex.npy"), true.astype(np.complex64))
    np.save(os.path.join(w, "m_str.npy"), true.astype(str))
    np.save(os.path.join(w, "m_pickle.npy"), np.array([{"v": 1}, None], dtype=object), allow_pickle=True)
    np.savetxt(os.path.join(w, "m_text.npy"), true)
    with open(os.path.join(w, "m_good.npy"), "rb") as fh:
        good = fh.read()
    with open(os.path.join(w, "m_trunc.npy"), "wb") as fh:
        fh.write(good[: len(good) // 2])
    with open(os.path.join(w, "m_headonly.npy"), "wb") as fh:
        fh.write(good[:60])
    with open(os.path.join(w, "m_empty.npy"), "wb"):
        pass
    nan = true.copy()
    nan[5, 7] = np.nan
    np.save(os.path.join(w, "m_nan.npy"), nan)
    inf = true.copy()
    inf[5, 7] = np.inf
    np.save(os.path.join(w, "m_inf.npy"), inf)
    np.save(os.path.join(w, "m_neg.npy"), -true)
    np.save(os.path.join(w, "m_zero.npy"), np.zeros_like(true))
    np.save(os.path.join(w, "m_shape.npy"), true[:20])
    np.save(os.path.join(w, "m_3d.npy"), np.stack([true, true]))
    np.save(os.path.join(w, "m_1d.npy"), true[0])
    np.save(os.path.join(w, "m_size0.npy"), np.zeros((0, 60), np.float32))
    np.save(os.path.join(w, "m_scalar.npy"), np.float32(2000.0))
    np.save(os.path.join(w, "m_struct.npy"), np.zeros((40, 60), dtype=[("v", "f4"), ("w", "f4")]))
    with open(os.path.join(w, "m_model.txt"), "w") as fh:
        fh.write("1500\n")

    # ---- geometries
    d = g.to_dict()
    big = json.loads(json.dumps(d))
    big["grid"] = {"nz": 100000, "nx": 100000, "dz": 10.0, "dx": 10.0}
    with open(os.path.join(w, "G_big.json"), "w") as fh:
        json.dump(big, fh)
    longer = json.loads(json.dumps(d))
    longer["nt"] = 400_000_000
    with open(os.path.join(w, "G_nt.json"), "w") as fh:
        json.dump(longer, fh)
    many = json.loads(json.dumps(d))  # 20000 shots on a 400 x 600 grid at 1 m: about 160 GiB to model
    many["grid"] = {"nz": 400, "nx": 600, "dz": 1.0, "dx": 1.0}
    many["source_x"] = [50.0] * 20_000
    many["source_z"] = [10.0] * 20_000
    with open(os.path.join(w, "G_shots.json"), "w") as fh:
        json.dump(many, fh)
    for key, val in (("G_nandx", ("grid", "dx", float("nan"))), ("G_nandt", (None, "dt", float("nan"))),
                     ("G_nanfreq", ("wavelet", "peak_freq", float("nan"))), ("G_strnz", ("grid", "nz", "forty"))):
        bad = json.loads(json.dumps(d))
        (bad[val[0]] if val[0] else bad)[val[1]] = val[2]
        with open(os.path.join(w, key + ".json"), "w") as fh:
            json.dump(bad, fh)  # json writes NaN, and Python's reader takes it back
    nansx = json.loads(json.dumps(d))
    nansx["source_x"][1] = float("nan")
    with open(os.path.join(w, "G_nansx.json"), "w") as fh:
        json.dump(nansx, fh)
    outside = json.loads(json.dumps(d))
    outside["receiver_x"][-1] = 5000.0
    with open(os.path.join(w, "G_outside.json"), "w") as fh:
        json.dump(outside, fh)
    with open(os.path.join(w, "G_list.json"), "w") as fh:
        json.dump([1, 2, 3], fh)
    with open(os.path.join(w, "G_text.json"), "w") as fh:
        fh.write("grid: 40 x 60\n")

    # ---- FWI configuration files
    for name, text in (("c_text.json", "iterations: 3\n"), ("c_list.json", "[1, 2]"), ("c_unknown.json", '{"iterationz": 3}'),
                       ("c_vrange.json", '{"vmin": 5000, "vmax": 3000}'), ("c_iters.json", '{"iterations": 0}'),
                       ("c_nanlr.json", '{"lr": NaN}'), ("c_bands.json", '{"bands": ["x"]}'), ("c_type.json", '{"iterations": "many"}'),
                       ("c_offset.json", '{"min_offset_m": 1e9}'), ("c_negoffset.json", '{"min_offset_m": -1}')):
        with open(os.path.join(w, name), "w") as fh:
            fh.write(text)

    # ---- networks
    with open(os.path.join(DEFAULT_MODEL, "model.safetensors"), "rb") as fh:
        weights = fh.read()
    _network(w, "net_trunc", weights[: len(weights) // 2])
    _network(w, "net_head", weights[:8])
    _network(w, "net_tail", weights[: len(weights) - 1])
    _network(w, "net_empty", b"")
    _network(w, "net_garbage", bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    _network(w, "net_noweights")
    _network(w, "net_badconfig", config="{not json", keep_weights=True)
    _network(w, "net_otherformat", config='{"format": "other"}', keep_weights=True)
    cfg = json.load(open(os.path.join(DEFAULT_MODEL, "config.json")))
    cfg["arch_kwargs"]["width"] = 7
    _network(w, "net_otherarch", config=json.dumps(cfg), keep_weights=True)
    from safetensors.torch import load_file, save_file

    state = load_file(os.path.join(DEFAULT_MODEL, "model.safetensors"))
    k = next(k for k, v in state.items() if v.is_floating_point())
    state[k] = state[k].clone()
    state[k].view(-1)[0] = float("nan")
    _network(w, "net_nan")
    save_file(state, os.path.join(w, "net_nan", "model.safetensors"))
    os.makedirs(os.path.join(w, "adapter_bad"))
    with open(os.path.join(w, "adapter_bad", "hybridfwi_adapter.json"), "w") as fh:
        fh.write('{"base": null}')

    # ---- datasets (the tiny generated ones, damaged copies: ds_* of the example dataset for predict,
    # evaluate and plot, tr_* of the pretraining-range one for pretrain and finetune)
    for src, pre in (("ds", "ds"), ("dtr", "tr")):
        ds = os.path.join(w, src)
        for name in ("nomodel", "nodata", "nanmodel", "negmodel", "truncdata", "textmodel", "incomplete", "badmanifest"):
            shutil.copytree(ds, os.path.join(w, f"{pre}_{name}"))
        os.remove(os.path.join(w, f"{pre}_nomodel", "model0.npy"))
        os.remove(os.path.join(w, f"{pre}_nodata", "data0.npy"))
        m = np.load(os.path.join(ds, "model0.npy"))
        m[1, 0, 3, 3] = np.nan
        np.save(os.path.join(w, f"{pre}_nanmodel", "model0.npy"), m)
        np.save(os.path.join(w, f"{pre}_negmodel", "model0.npy"), -np.abs(np.nan_to_num(m)))
        with open(os.path.join(ds, "data0.npy"), "rb") as fh:
            data = fh.read()
        with open(os.path.join(w, f"{pre}_truncdata", "data0.npy"), "wb") as fh:
            fh.write(data[: len(data) // 2])
        np.savetxt(os.path.join(w, f"{pre}_textmodel", "model0.npy"), m[0, 0])
        man = json.load(open(os.path.join(ds, "manifest.json")))
        with open(os.path.join(w, f"{pre}_incomplete", "manifest.json"), "w") as fh:
            json.dump({**man, "complete": False}, fh)
        with open(os.path.join(w, f"{pre}_badmanifest", "manifest.json"), "w") as fh:
            fh.write("{")
        os.makedirs(os.path.join(w, f"{pre}_empty"))
        os.makedirs(os.path.join(w, f"{pre}_other"))
        with open(os.path.join(w, f"{pre}_other", "notes.txt"), "w") as fh:
            fh.write("hello\n")
    os.makedirs(os.path.join(w, "online_bad"))
    with open(os.path.join(w, "online_bad", "train_state.pt"), "wb") as fh:
        fh.write(b"not a torch file")

    # ---- benchmark suites
    os.makedirs(os.path.join(w, "suite_empty"))
    os.makedirs(os.path.join(w, "suite_bad"))
    with open(os.path.join(w, "suite_bad", "manifest.json"), "w") as fh:
        fh.write('{"format": "hybridfwi-suite/0"}')
    os.makedirs(os.path.join(w, "suite_garbled"))
    with open(os.path.join(w, "suite_garbled", "manifest.json"), "w") as fh:
        fh.write("{{")

    # ---- things that are in the way
    with open(os.path.join(w, "afile"), "w") as fh:
        fh.write("keep me\n")
    os.makedirs(os.path.join(w, "busy"))
    with open(os.path.join(w, "busy", "keep.txt"), "w") as fh:
        fh.write("keep me\n")


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> str:
    w = str(tmp_path_factory.mktemp("bad_input"))
    _build(w)
    return w


def _snapshot(root: str) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns) if n in filenames else None
    return out


def _fill(args, w: str, o: str) -> list[str]:
    return [str(a).replace("{W}", w).replace("{O}", o) for a in args]


# --------------------------------------------------------------------------------------------- the table
# (command, arguments, words the message must hold). {W}: the workspace; {O}: this case's output
# folder (it must not exist afterwards, nor anything else in its parent); {R}: ../shared/data/real
# (the case is skipped when the file is absent). Each command's mandatory output option is added
# when the case does not give one. Progress output stays on (the default): bad input prints only
# the one error line.

S = "{W}/s.segy"
FWI = ["fwi", S, "--initial", "constant:2000"]
INV = ["invert", S, "--adapt", "off"]
PRED = ["predict", S, "--adapt", "off"]
CMP = ["compare", S, "--adapt", "off", "--methods", "fwi_gradient"]
SYN = ["synth", "--model", "flatvel-a:1", "--seed", "200000", "--geometry", "{W}/G.json", "--device", "cpu"]
GEN = ["generate", "--family", "flatvel-a", "--count", "1", "--seed", "200000", "--geometry", "{W}/G.json"]
PRE = ["pretrain", "--data", "{W}/dtr", "--epochs", "1", "--device", "cpu"]
FT = ["finetune", "--data", "{W}/dtr", "--epochs", "1", "--device", "cpu"]
EV = ["evaluate", "--data", "{W}/ds", "--device", "cpu"]
PLOT = ["plot"]
MAKE = ["benchmark", "make", "--suite", "tiny"]
BRUN = ["benchmark", "run"]

# the same bad-file families for every command that reads a survey, a model, a network or a dataset
BAD_SURVEYS = [
    ("{W}/adir", ["adir", "folder"]),
    ("{W}/missing.segy", ["missing.segy", "no such file"]),
    ("{W}/trunc.segy", ["trunc.segy", "truncated"]),
    ("{W}/short.segy", ["short.segy"]),
    ("{W}/empty.segy", ["empty.segy"]),
    ("{W}/text.segy", ["text.segy"]),
    ("{W}/headers.segy", ["headers.segy", "no complete trace"]),
    ("{W}/altdt.segy", ["altdt.segy", "sample interval"]),
    ("{W}/nan.segy", ["nan.segy", "trace 17", "NaN"]),
    ("{W}/badside.segy", ["badside.json", "sidecar"]),
]
BAD_MODELS = [
    ("m_bool.npy", ["m_bool.npy", "bool"]),
    ("m_complex.npy", ["m_complex.npy", "complex"]),
    ("m_str.npy", ["m_str.npy", "dtype"]),
    ("m_struct.npy", ["m_struct.npy", "dtype"]),
    ("m_pickle.npy", ["m_pickle.npy", "Python objects"]),
    ("m_text.npy", ["m_text.npy", "not a NumPy array file"]),
    ("m_trunc.npy", ["m_trunc.npy", "truncated"]),
    ("m_headonly.npy", ["m_headonly.npy", "truncated"]),
    ("m_empty.npy", ["m_empty.npy", "not a NumPy array file"]),
    ("m_nan.npy", ["m_nan.npy", "NaN"]),
    ("m_inf.npy", ["m_inf.npy", "infinite"]),
    ("m_neg.npy", ["m_neg.npy", "<= 0"]),
    ("m_zero.npy", ["m_zero.npy", "<= 0"]),
    ("m_shape.npy", ["m_shape.npy", "shape"]),
    ("m_3d.npy", ["m_3d.npy", "2-D"]),
    ("m_1d.npy", ["m_1d.npy", "2-D"]),
    ("m_size0.npy", ["m_size0.npy", "empty"]),
    ("m_scalar.npy", ["m_scalar.npy", "2-D"]),
    ("m_model.txt", ["m_model.txt", ".npy"]),
    ("missing.npy", ["missing.npy", "does not exist"]),
    ("adir", ["adir"]),
]
BAD_NETWORKS = [
    ("net_trunc", ["net_trunc", "model.safetensors", "damaged"]),
    ("net_head", ["net_head", "model.safetensors", "damaged"]),
    ("net_tail", ["net_tail", "model.safetensors", "damaged"]),
    ("net_empty", ["net_empty", "model.safetensors", "damaged"]),
    ("net_garbage", ["net_garbage", "model.safetensors", "damaged"]),
    ("net_nan", ["net_nan", "NaN"]),
    ("net_noweights", ["net_noweights", "not a model checkpoint"]),
    ("net_badconfig", ["net_badconfig", "config.json"]),
    ("net_otherformat", ["net_otherformat", "config.json", "format"]),
    ("net_otherarch", ["net_otherarch", "do not match"]),
    ("missing_net", ["missing_net", "not a model checkpoint"]),
    ("adapter_bad", ["adapter_bad"]),
]
BAD_DATASETS = [  # "ds_" here; "tr_" for the training commands
    ("ds_nomodel", ["ds_nomodel", "model0.npy"]),
    ("ds_nodata", ["ds_nodata", "data0.npy"]),
    ("ds_truncdata", ["ds_truncdata", "data0.npy"]),
    ("ds_textmodel", ["ds_textmodel", "model0.npy"]),
    ("ds_incomplete", ["ds_incomplete", "incomplete"]),
    ("ds_badmanifest", ["ds_badmanifest", "manifest.json"]),
    ("ds_empty", ["ds_empty", "no manifest.json"]),
    ("ds_other", ["ds_other", "no manifest.json"]),
    ("missing_ds", ["missing_ds"]),
    ("ds_nanmodel", ["ds_nanmodel", "model0.npy", "sample 1", "NaN"]),
    ("ds_negmodel", ["ds_negmodel", "model0.npy", "sample 0", "non-positive"]),
]


def _training(datasets):
    return [(n.replace("ds_", "tr_"), [x.replace("ds_", "tr_") for x in words]) for n, words in datasets]

GEOMETRY_ERRORS = [
    ("G_big.json", ["G_big.json", "100000 x 100000", "GiB"]),
    ("G_nt.json", ["G_nt.json", "400000000"]),
    ("G_shots.json", ["G_shots.json", "20000 shot(s)", "GiB"]),
    ("G_nandx.json", ["G_nandx.json", "dx"]),
    ("G_nandt.json", ["G_nandt.json", "dt"]),
    ("G_nanfreq.json", ["G_nanfreq.json", "peak"]),
    ("G_strnz.json", ["G_strnz.json", "nz"]),
    ("G_nansx.json", ["G_nansx.json", "source_x"]),
    ("G_outside.json", ["G_outside.json", "outside the model", "5000"]),
    ("G_list.json", ["G_list.json", "JSON object"]),
    ("G_text.json", ["G_text.json", "not valid JSON"]),
    ("missing.json", ["missing.json", "does not exist"]),
    ("adir", ["adir", "folder"]),
]
NAN_OPTIONS = [  # options every survey-reading command takes
    (["--source-x", "nan", "--receiver-spacing", "10"], ["--source-x", "finite"]),
    (["--source-x", "0,nan,100", "--receiver-spacing", "10"], ["--source-x", "finite"]),
    (["--source-x", "inf", "--receiver-spacing", "10"], ["--source-x", "finite"]),
    (["--source-x", "a,b", "--receiver-spacing", "10"], ["--source-x", "numbers"]),
    (["--source-x", ",", "--receiver-spacing", "10"], ["--source-x"]),
    (["--source-x", "0,100,200", "--receiver-spacing", "nan"], ["--receiver-spacing", "finite"]),
    (["--source-x", "0,100,200", "--receiver-spacing", "-10"], ["--receiver-spacing", "positive"]),
    (["--source-x", "0,100,200", "--receiver-spacing", "0"], ["--receiver-spacing", "positive"]),
    (["--source-x", "0,100,200", "--receiver-spacing", "10", "--first-receiver-x", "nan"], ["--first-receiver-x", "finite"]),
    (["--source-x", "0,100,200", "--receiver-spacing", "10", "--first-receiver-x", "-inf"], ["--first-receiver-x", "finite"]),
    (["--source-x", "0,100"], ["--receiver-spacing", "--source-x", "together"]),
    (["--source-x", "0,100", "--receiver-spacing", "10"], ["--source-x", "2 position(s)", "3 shot(s)"]),
    (["--bands", "nan"], ["--bands", "nan"]),
    (["--bands", "4,nan,full"], ["--bands", "nan"]),
    (["--bands", "inf"], ["--bands", "inf"]),
    (["--bands", "-4"], ["--bands", "-4"]),
    (["--bands", "0"], ["--bands"]),
    (["--bands", "4,x"], ["--bands", "4,x"]),
    (["--bands", ","], ["--bands"]),
    (["--low-cut", "nan"], ["--low-cut"]),
    (["--low-cut", "-1"], ["--low-cut"]),
    (["--dx", "nan"], ["--dx"]),
    (["--dx", "0"], ["--dx"]),
    (["--depth", "inf"], ["--depth"]),
    (["--padding", "nan"], ["--padding"]),
    (["--tmax", "-0.5"], ["--tmax"]),
    (["--water-velocity", "nan"], ["--water-velocity"]),
    (["--seabed-depth", "-3"], ["--seabed-depth"]),
    (["--top", "sky"], ["--top"]),
    (["--device", "tpu"], ["--device"]),
]


def _cases():
    c = []

    def add(cmd, args, words, ident=None):
        c.append(pytest.param(cmd, args, words,
                              id=f"{cmd}-{ident or ' '.join(a.replace('{W}/', '') for a in args[:4])}"))

    # info
    for path, words in BAD_SURVEYS[:7]:
        add("info", ["info", path], words)
    add("info", ["info"], ["Missing argument"], "no-argument")
    add("info", ["info", "{W}/m_good.npy"], ["m_good.npy"], "npy-file")
    add("info", ["info", "{W}/ds"], ["ds", "folder"], "dataset-folder")
    add("info", ["info", "{W}/text.su"], ["text.su"], "text-su")

    # fwi
    for path, words in BAD_SURVEYS:
        add("fwi", ["fwi", path, "--initial", "constant:2000"], words, f"survey-{os.path.basename(path)}")
    for name, words in BAD_MODELS:
        add("fwi", FWI[:2] + ["--initial", "{W}/" + name], words, f"initial-{name}")
        add("fwi", FWI + ["--true", "{W}/" + name], words, f"true-{name}")
    for spec, words in (("constant:nan", ["constant:nan"]), ("constant:-5", ["constant:-5"]), ("constant:", ["constant:"]),
                        ("gradient:1500:nan", ["gradient:1500:nan"]), ("gradient:1500", ["gradient:1500"]),
                        ("gradient:0:2000", ["gradient:0:2000"]), ("smooth:nan:{W}/m_good.npy", ["smooth:nan"]),
                        ("smooth:-5:{W}/m_good.npy", ["smooth:-5"]), ("smooth:100", ["smooth:100"]),
                        ("smooth:100:{W}/m_bool.npy", ["m_bool.npy", "bool"]), ("bogus", ["bogus"]), ("", ["--initial"])):
        add("fwi", FWI[:2] + ["--initial", spec], words, f"initial-{spec.replace('{W}/', '')}")
    for opts, words in NAN_OPTIONS:
        add("fwi", FWI + opts, words, " ".join(opts))
    for opts, words in ((["--vmin", "nan"], ["--vmin"]), (["--vmax", "-1"], ["--vmax"]), (["--vmax", "inf"], ["--vmax"]),
                        (["--vmin", "5000", "--vmax", "3000"], ["vmin", "vmax", "5000", "3000"]),
                        (["--vmax", "1000"], ["vmax", "1000"]), (["--lr", "nan"], ["--lr"]), (["--lr", "0"], ["--lr"]),
                        (["--iterations", "0"], ["--iterations"]), (["--iterations", "x"], ["--iterations"]),
                        (["--optimizer", "sgd"], ["--optimizer"]), (["--misfit", "l3"], ["--misfit"]),
                        (["--initial", "constant:6000"], ["--initial", "6000", "vmax 4800"]),
                        (["--initial", "constant:1000"], ["--initial", "1000", "vmin 1400"]),
                        (["--initial", "gradient:1500:4000", "--vmax", "3000"], ["--initial", "vmax 3000"]),
                        (["--dx", "0.001"], ["--dx"]), (["--depth", "1e9"], ["too large"]), (["--padding", "1e9"], ["too large"])):
        add("fwi", FWI + opts, words, " ".join(opts))
    for name, words in (("c_text.json", ["c_text.json", "not valid JSON"]), ("c_list.json", ["c_list.json", "JSON object"]),
                        ("c_unknown.json", ["iterationz"]), ("c_vrange.json", ["vmin", "vmax"]),
                        ("c_iters.json", ["iterations"]), ("c_nanlr.json", ["lr"]), ("c_bands.json", ["bands"]),
                        ("c_type.json", ["iterations"]), ("c_offset.json", ["min_offset_m", "no trace"]),
                        ("c_negoffset.json", ["min_offset_m"]), ("missing.json", ["missing.json", "does not exist"]),
                        ("adir", ["adir"])):
        add("fwi", FWI + ["--config", "{W}/" + name], words, f"config-{name}")
    add("fwi", FWI + ["--out", "{W}/afile"], ["afile", "is a file"], "out-file")
    add("fwi", FWI + ["--out", "{W}/busy"], ["busy", "not a hybridfwi run"], "out-busy")
    add("fwi", FWI + ["--out", "{W}/afile/sub"], ["afile", "is a file"], "out-under-file")
    add("fwi", ["fwi", S, "--out", "{O}"], ["--initial"], "no-initial")

    # invert
    for path, words in BAD_SURVEYS:
        add("invert", ["invert", path], words, f"survey-{os.path.basename(path)}")
    for name, words in BAD_NETWORKS:
        add("invert", INV + ["--model", "{W}/" + name], words, f"model-{name}")
    add("invert", INV + ["--model", "{W}/net_trunc+{W}/adir"], ["adir", "adapter"], "model-adapter-missing")
    for name, words in BAD_MODELS[:8]:
        add("invert", INV + ["--true", "{W}/" + name], words, f"true-{name}")
    for opts, words in NAN_OPTIONS[:20]:
        add("invert", INV + opts, words, " ".join(opts))
    for opts, words in ((["--iterations", "0"], ["--iterations"]), (["--physics-steps", "-1"], ["--physics-steps"]),
                        (["--physics-steps", "15"], ["--physics-steps", "--iterations"]),
                        (["--iterations", "4", "--physics-steps", "4"], ["--physics-steps", "--iterations"]),
                        (["--adapt", "maybe"], ["--adapt"]), (["--adapt-samples", "0"], ["--adapt-samples"]),
                        (["--adapt-epochs", "0"], ["--adapt-epochs"]), (["--config", "{W}/c_vrange.json"], ["vmin", "vmax"]),
                        (["--config", "{W}/c_text.json"], ["c_text.json"]), (["--config", "{W}/c_offset.json"], ["min_offset_m"]),
                        (["--cache", "{W}/afile"], ["afile"]),
                        (["--out", "{W}/afile"], ["afile", "is a file"]), (["--out", "{W}/busy"], ["busy"]),
                        (["--out", "{W}/afile/sub"], ["afile", "is a file"])):
        add("invert", INV + opts, words, " ".join(opts))

    # predict
    for path, words in [("{W}/adir", ["adir", "no manifest.json"])] + BAD_SURVEYS[1:4] + BAD_SURVEYS[7:9]:
        add("predict", ["predict", path], words, f"target-{os.path.basename(path)}")
    for name, words in BAD_NETWORKS:
        add("predict", PRED + ["--model", "{W}/" + name], words, f"model-{name}")
        add("predict", ["predict", "{W}/ds", "--model", "{W}/" + name], words, f"dataset-model-{name}")
    for name, words in BAD_DATASETS[:9]:
        add("predict", ["predict", "{W}/" + name], words, f"dataset-{name}")
    for opts, words in NAN_OPTIONS[:14]:
        add("predict", PRED + opts, words, " ".join(opts))
    add("predict", PRED + ["--out", "{W}/afile"], ["afile", "is a file"], "out-file")
    add("predict", PRED + ["--out", "{W}/afile/sub"], ["afile", "is a file"], "out-under-file")

    # compare
    for path, words in BAD_SURVEYS[:1] + BAD_SURVEYS[7:9]:
        add("compare", ["compare", path], words, f"survey-{os.path.basename(path)}")
    for name, words in BAD_MODELS[:8]:
        add("compare", CMP + ["--true", "{W}/" + name], words, f"true-{name}")
        add("compare", CMP + ["--initial", "{W}/" + name], words, f"initial-{name}")
    for opts, words in ((["--methods", "dl,magic"], ["magic"]), (["--methods", "fwi_smooth"], ["fwi_smooth", "--true"]),
                        (["--methods", ","], ["--methods"]), (["--smooth-sigma", "nan"], ["--smooth-sigma"]),
                        (["--methods", "dl", "--model", "{W}/net_trunc"], ["net_trunc", "damaged"]),
                        (["--bands", "nan"], ["--bands"]), (["--source-x", "nan", "--receiver-spacing", "10"], ["--source-x"]),
                        (["--out", "{W}/afile"], ["afile"]), (["--out", "{W}/afile/sub"], ["afile", "is a file"])):
        add("compare", CMP + opts, words, " ".join(opts))

    # evaluate
    for name, words in BAD_DATASETS:
        add("evaluate", ["evaluate", "--data", "{W}/" + name, "--device", "cpu"], words, f"data-{name}")
    for name, words in BAD_NETWORKS[:6]:
        add("evaluate", EV + ["--model", "{W}/" + name], words, f"model-{name}")
    for out, words in (("{O}/m.txt", ["m.txt", ".json"]), ("{W}/adir", ["adir", "directory"]), ("{W}/afile/x.json", ["afile"])):
        add("evaluate", EV + ["--out", out], words, f"out-{os.path.basename(out)}")

    # pretrain
    for opts, words in ((["--width", "-3"], ["--width", "-3"]), (["--width", "0"], ["--width", "0"]),
                        (["--width", "x"], ["--width"]), (["--arch", "transformer"], ["transformer"]),
                        (["--epochs", "0"], ["--epochs"]), (["--batch-size", "0"], ["--batch-size"]), (["--lr", "nan"], ["--lr"]),
                        (["--lr", "-1"], ["--lr"]), (["--val-fraction", "1"], ["--val-fraction"]),
                        (["--val-fraction", "nan"], ["--val-fraction"]), (["--max-samples", "0"], ["--max-samples"]),
                        (["--online"], ["--online", "--data"]), (["--out", "{W}/afile"], ["afile", "is a file"]),
                        (["--out", "{W}/busy"], ["busy", "not empty"]), (["--out", "{W}/afile/sub"], ["afile"]),
                        (["--device", "tpu"], ["--device"])):
        add("pretrain", PRE + opts, words, " ".join(opts))
    add("pretrain", PRE[:2] + ["{W}/ds"] + PRE[3:], ["seed"], "data-example-seed-range")
    for name, words in _training(BAD_DATASETS):
        add("pretrain", ["pretrain", "--data", "{W}/" + name, "--epochs", "1", "--device", "cpu"], words,
            f"data-{name}")
    add("pretrain", ["pretrain", "--epochs", "1"], ["--data"], "no-data")
    for opts, words in ((["--family", "granite"], ["granite"]), (["--samples", "0"], ["--samples"]),
                        (["--width", "-3"], ["--width"]), (["--width", "0"], ["--width"]), (["--gen-batch", "0"], ["--gen-batch"]),
                        (["--time-limit", "nan"], ["--time-limit"]), (["--init", "{W}/net_trunc"], ["net_trunc", "damaged"]),
                        (["--init", "{W}/missing_net"], ["missing_net"]),
                        (["--out", "{W}/online_bad", "--resume"], ["train_state.pt", "delete"])):
        add("pretrain", ["pretrain", "--online", "--device", "cpu"] + opts, words, "online " + " ".join(opts))

    # finetune
    for name, words in BAD_NETWORKS[:10]:
        add("finetune", FT + ["--base", "{W}/" + name], words, f"base-{name}")
    for name, words in _training(BAD_DATASETS):
        add("finetune", ["finetune", "--data", "{W}/" + name, "--epochs", "1", "--device", "cpu"], words,
            f"data-{name}")
    for opts, words in ((["--method", "magic"], ["--method"]), (["--rank", "0"], ["--rank"]), (["--alpha", "nan"], ["--alpha"]),
                        (["--alpha", "0"], ["--alpha"]), (["--modules", "no_such_layer"], ["no_such_layer"]),
                        (["--epochs", "0"], ["--epochs"]), (["--lr", "inf"], ["--lr"]), (["--out", "{W}/afile"], ["afile"]),
                        (["--out", "{W}/afile/sub"], ["afile"]),
                        (["--out", "{W}/busy"], ["busy", "not empty"])):
        add("finetune", FT + opts, words, " ".join(opts))

    # plot
    for name, words in BAD_MODELS[:18]:
        if name != "m_shape.npy":  # any 2-D shape is a model to plot
            add("plot", ["plot", "{W}/" + name, "--out", "{O}.png"], words, name)
    for path, words in BAD_SURVEYS[1:7]:
        add("plot", ["plot", path, "--out", "{O}.png"], words, os.path.basename(path))
    for name, words in BAD_DATASETS[:9]:
        add("plot", ["plot", "{W}/" + name, "--out", "{O}.png"], words, name)
    add("plot", ["plot", "{W}/ds_nanmodel", "--out", "{O}.png", "--index", "1"], ["NaN"], "ds_nanmodel-index-1")
    for opts, words in ((["{W}/m_good.npy", "--out", "{O}.bmp"], [".bmp", ".png"]),
                        (["{W}/m_good.npy", "--out", "{O}/sub/x.png"], ["does not exist"]),
                        (["{W}/m_good.npy", "--out", "{W}/adir"], ["adir"]),
                        (["{W}/m_good.npy", "--out", "{O}.png", "--spacing", "nan"], ["--spacing"]),
                        (["{W}/m_good.npy", "--out", "{O}.png", "--spacing", "0"], ["--spacing"]),
                        (["{W}/m_good.npy", "--out", "{O}.png", "--spacing", "-10"], ["--spacing"]),
                        (["{W}/ds", "--out", "{O}.png", "--index", "99"], ["--index 99", "2 samples"]),
                        (["{W}/ds", "--out", "{O}.png", "--index", "-1"], ["--index -1"]),
                        (["{W}/m_good.npy", "--out", "{O}.png", "--kind", "cube"], ["--kind"]),
                        (["{W}/missing.npy", "--out", "{O}.png"], ["missing.npy"])):
        add("plot", ["plot"] + opts, words, " ".join(o.replace("{W}/", "").replace("{O}", "O") for o in opts[:3]))

    # families
    for out, words in (("{O}.bmp", [".bmp", ".png"]), ("{O}.tiff", [".tiff"]), ("{O}", ["--gallery"]),
                       ("{O}/sub/g.png", ["does not exist"]), ("{W}/adir/sub/g.png", ["--gallery", "does not exist"]),
                       ("{W}/afile/g.png", ["afile"])):
        add("families", ["families", "--gallery", out], words, os.path.basename(out).replace("{O}", "O"))
    add("families", ["families", "--seed", "x"], ["--seed"], "seed")

    # synth
    for opts, words in ((["--snr", "-1000"], ["--snr", "-1000"]), (["--snr", "nan"], ["--snr"]), (["--snr", "inf"], ["--snr"]),
                        (["--snr", "1e9"], ["--snr"]), (["--snr", "-21"], ["--snr", "-21"]), (["--refine", "0"], ["--refine"]),
                        (["--refine", "9"], ["--refine"]), (["--max-vel", "nan"], ["--max-vel"]), (["--max-vel", "-1"], ["--max-vel"]),
                        (["--max-vel", "1000"], ["--max-vel", "1000"]), (["--accuracy", "3"], ["--accuracy"]),
                        (["--seed", "-1"], ["--seed"]), (["--noise-seed", "-1"], ["--noise-seed"])):
        add("synth", SYN + opts, words, " ".join(opts))
    for name, words in BAD_MODELS:
        add("synth", ["synth", "--model", "{W}/" + name, "--geometry", "{W}/G.json"], words, f"model-{name}")
    for spec, words in (("granite:1", ["granite"]), ("flatvel-a:x", ["flatvel-a:x", "integer"]),
                        ("flatvel-a:-1", ["flatvel-a:-1"]), ("", ["--model"])):
        add("synth", ["synth", "--model", spec, "--geometry", "{W}/G.json"], words, f"model-{spec}")
    for name, words in GEOMETRY_ERRORS:
        add("synth", ["synth", "--model", "flatvel-a:1", "--geometry", "{W}/" + name], words, f"geometry-{name}")
    for out, words in (("{O}.txt", [".segy"]), ("{W}/adir", ["adir", "directory"]), ("{W}/s.segy", ["s.segy", "--force"]),
                       ("{W}/s.model.segy", ["s.model.segy", "--force"]), ("{W}/afile/x.segy", ["afile"])):
        add("synth", SYN + ["--out", out], words, f"out-{os.path.basename(out).replace('{O}', 'O')}")

    # generate
    for opts, words in ((["--count", "0"], ["--count"]), (["--family", "granite"], ["granite"]),
                        (["--family", "flatvel-a"], ["twice"]), (["--seed", "250000"], ["--seed 250000"]),
                        (["--shard-size", "0"], ["--shard-size"]), (["--batch", "0"], ["--batch"]),
                        (["--workers", "-1"], ["--workers"]), (["--max-vel", "nan"], ["--max-vel"]),
                        (["--out", "{W}/afile"], ["afile", "is a file"]), (["--out", "{W}/busy"], ["busy", "not a hybridfwi dataset"]),
                        (["--out", "{W}/ds_badmanifest"], ["ds_badmanifest", "manifest.json"]),
                        (["--out", "{W}/afile/sub"], ["afile"])):
        add("generate", GEN + opts, words, " ".join(opts))
    add("generate", GEN + ["--out", "{W}/ds"], ["ds", "another"], "out-other-dataset")
    for name, words in GEOMETRY_ERRORS:
        add("generate", ["generate", "--family", "flatvel-a", "--count", "1", "--seed", "200000", "--geometry", "{W}/" + name],
            words, f"geometry-{name}")

    # benchmark
    for opts, words in ((["--suite", "bogus"], ["--suite"]), (["--cases", "0"], ["--cases"]), (["--noise-draw", "-1"], ["--noise-draw"]),
                        (["--out", "{W}/afile"], ["afile", "is a file"]), (["--out", "{W}/busy"], ["busy", "not a benchmark suite"]),
                        (["--out", "{W}/afile/sub"], ["afile"]),
                        (["--suite", "marmousi", "--path", "{W}/missing.bin"], ["missing.bin"]),
                        (["--suite", "marmousi", "--path", "{W}/m_model.txt"], ["m_model.txt"]),
                        (["--suite", "marmousi", "--path", "{W}/adir"], ["adir"])):
        add("benchmark-make", MAKE + opts, words, " ".join(opts))
    for suite, words in (("{W}/missing_suite", ["missing_suite"]), ("{W}/suite_empty", ["suite_empty", "manifest.json"]),
                         ("{W}/suite_bad", ["suite_bad", "format"]), ("{W}/suite_garbled", ["manifest.json"]),
                         ("{W}/afile", ["afile"]), ("{W}/ds", ["ds"])):
        add("benchmark-run", BRUN + ["--suite", suite], words, f"suite-{os.path.basename(suite)}")
    for opts, words in ((["--jobs", "0"], ["--jobs"]), (["--iterations", "0"], ["--iterations"]),
                        (["--physics-steps", "-1"], ["--physics-steps"]),
                        (["--iterations", "3", "--physics-steps", "3"], ["--physics-steps", "--iterations"]),
                        (["--redo", "fwi"], ["--redo", "fwi"]), (["--method", "fwi"], ["--method", "fwi"])):
        add("benchmark-run", BRUN + ["--suite", "{W}/suite_empty"] + opts, words, " ".join(opts))

    # real files (../shared/data/real; skipped when absent): read by every command the same way
    for cmd, args, words in (
            ("info", ["info", "{R}/truncated_File010690.sgy"], ["truncated_File010690.sgy", "truncated"]),
            ("plot", ["plot", "{R}/truncated_File010690.sgy", "--out", "{O}.png"], ["truncated_File010690.sgy", "truncated"]),
            ("fwi", ["fwi", "{R}/f3.sgy", "--initial", "gradient"], ["f3.sgy", "post-stack"]),
            ("fwi", ["fwi", "{R}/small.sgy", "--initial", "gradient"], ["small.sgy", "--receiver-spacing", "--source-x"]),
            ("fwi", ["fwi", "{R}/viking_small.segy", "--initial", "gradient", "--bands", "nan"], ["--bands"]),
            ("invert", ["invert", "{R}/cdp700.su"], ["cdp700.su", "CDP"]),
            ("invert", ["invert", "{R}/truncated_File010690.sgy"], ["truncated_File010690.sgy", "truncated"]),
            ("predict", ["predict", "{R}/malformed_nan_f11.segy"], ["malformed_nan_f11.segy", "negative start time"]),
            ("compare", ["compare", "{R}/f3.sgy"], ["f3.sgy", "post-stack"]),
            ("info", ["info", "{R}/README.md"], ["README.md"])):
        add(cmd, args, words, "real-" + args[1].replace("{R}/", ""))

    # cache
    add("cache", ["cache", "list", "--cache", "{W}/afile"], ["afile"], "list-file")
    add("cache", ["cache", "clear", "--cache", "{W}/afile"], ["afile"], "clear-file")
    add("cache", ["cache", "clear", "nokey", "--cache", "{O}"], ["nokey"], "clear-unknown-key")
    add("cache", ["cache", "clear", "--incomplete", "nokey", "--cache", "{O}"], ["nokey"], "clear-incomplete-unknown-key")
    add("cache", ["cache", "frobnicate"], ["frobnicate"], "unknown-subcommand")
    add("cache", ["cache", "list", "--bogus"], ["--bogus"], "list-unknown-option")
    return c


CASES = _cases()
OUT_OPTION = {"fwi": "--out", "invert": "--out", "predict": "--out", "compare": "--out", "synth": "--out", "generate": "--out",
              "pretrain": "--out", "finetune": "--out", "evaluate": "--out", "benchmark-make": "--out", "benchmark-run": "--out"}
OUT_SUFFIX = {"synth": ".segy", "evaluate": ".json"}


@pytest.mark.parametrize("cmd, args, words", CASES)
def test_bad_input(ws, tmp_path, cmd, args, words):
    o = str(tmp_path / "out")
    args = list(args)
    for a in args:
        if a.startswith("{R}/"):
            real_file(a[4:])  # skips the case when the real data are absent
    args = [a.replace("{R}", REAL_DATA) for a in args]
    if cmd in OUT_OPTION and "--out" not in args and not (cmd == "fwi" and "--initial" not in args):
        args += ["--out", "{O}" + OUT_SUFFIX.get(cmd, "")]
    args = _fill(args, ws, o)
    words = _fill(words, ws, o)
    before = _snapshot(ws)
    env = {"HYBRIDFWI_CACHE": str(tmp_path / "cache")}
    result = CliRunner(env=env).invoke(cli, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        pytest.fail("".join(traceback.format_exception(result.exception)) + "\n" + result.output)
    one_line_error(result, *words)
    assert os.listdir(tmp_path) == [] or os.listdir(tmp_path) == ["cache"] and not os.listdir(tmp_path / "cache"), \
        f"left behind: {os.listdir(tmp_path)}"
    assert _snapshot(ws) == before, "the workspace changed"


def test_table_is_broad():
    per = {}
    for p in CASES:
        per[p.values[0].split("-")[0]] = per.get(p.values[0].split("-")[0], 0) + 1
    assert len(CASES) >= 250 and len(per) == 14 and min(per.values()) >= 5, per


# --------------------------------------------------------------------------------------------- beyond the table


class Reached(Exception):
    """Raised by a stub in place of the first expensive step: every check had passed."""


def _stop(*args, **kwargs):
    raise Reached


def test_info_flags_alternating_dt_and_nan_traces(ws):
    r = invoke(["info", f"{ws}/altdt.segy"])
    assert r.exit_code == 0, r.output
    assert "problem: the per-trace sample interval varies (1, 2 ms)" in r.output
    r = invoke(["info", f"{ws}/nan.segy"])
    assert r.exit_code == 0, r.output
    assert "trace 17" in r.output and "problem:" in r.output


def test_fortran_float64_big_endian_models_work(ws, tmp_path, monkeypatch):
    fwi_mod = importlib.import_module("hybridfwi.inversion.fwi")
    from hybridfwi.inversion.initial import initial_model
    from hybridfwi.io.arrays import load_model_file

    true = np.load(f"{ws}/m_good.npy")
    g = _small_geometry().grid
    for name in ("m_fortran.npy", "m_f64.npy", "m_be.npy", "m_int.npy"):
        v = initial_model(f"{ws}/{name}", g)
        assert v.dtype == np.float32 and v.flags.c_contiguous and v.dtype.isnative
        np.testing.assert_array_equal(v, true.astype(np.int32) if name == "m_int.npy" else true)
        np.testing.assert_array_equal(load_model_file(f"{ws}/{name}", g), v)
    monkeypatch.setattr(fwi_mod.FWI, "run", _stop)
    for name in ("m_fortran.npy", "m_f64.npy", "m_be.npy"):
        r = invoke(["fwi", f"{ws}/s.segy", "--initial", f"{ws}/{name}", "--true", f"{ws}/{name}", "--out", tmp_path / name,
                    "--no-progress"])
        assert isinstance(r.exception, Reached), r.output
    r = invoke(["synth", "--model", f"{ws}/m_be.npy", "--geometry", f"{ws}/G.json", "--out", tmp_path / "be.segy"])
    _ok(r)


def test_corrected_reruns_succeed(ws, tmp_path):
    """The mistake fixed, the same --out works: nothing of the failed attempt is in the way."""
    out = str(tmp_path / "s.segy")
    base = ["synth", "--model", "flatvel-a:1", "--seed", "200000", "--geometry", f"{ws}/G.json", "--out", out]
    for bad in (["--snr", "-1000"], ["--snr", "nan"], ["--max-vel", "1000"]):
        one_line_error(invoke(base + bad), "--snr" if bad[0] == "--snr" else "--max-vel")
        assert os.listdir(tmp_path) == []
    _ok(invoke(base + ["--snr", "10"]))
    # an existing survey needs --force, and then it is replaced
    one_line_error(invoke(base), "already exists", "--force")
    _ok(invoke(base + ["--force"]))
    one_line_error(invoke(["synth", "--model", "flatvel-a:1", "--geometry", f"{ws}/G_big.json", "--out", str(tmp_path / "b.segy")]),
                   "G_big.json")
    one_line_error(invoke(["plot", f"{ws}/m_text.npy", "--out", str(tmp_path / "p.png")]), "not a NumPy array file")
    _ok(invoke(["plot", f"{ws}/m_good.npy", "--out", str(tmp_path / "p.png")]))
    one_line_error(invoke(["families", "--gallery", str(tmp_path / "g.bmp")]), ".bmp")
    one_line_error(invoke(["evaluate", "--data", f"{ws}/ds_nomodel", "--out", str(tmp_path / "e.json"), "--device", "cpu"]),
                   "model0.npy")
    _ok(invoke(["evaluate", "--data", f"{ws}/ds", "--out", str(tmp_path / "e.json"), "--device", "cpu"]))
    assert "NaN" not in open(tmp_path / "e.json").read()


def test_fwi_and_invert_reach_their_work_after_a_refusal(ws, tmp_path, monkeypatch):
    """fwi --bands nan, invert on a NaN sample, a damaged network: refused; corrected: the run starts."""
    fwi_mod = importlib.import_module("hybridfwi.inversion.fwi")
    from hybridfwi.workflow import invert_run

    monkeypatch.setattr(fwi_mod.FWI, "run", _stop)
    monkeypatch.setattr(invert_run, "run_hybrid", _stop)
    out = str(tmp_path / "run")
    one_line_error(invoke(["fwi", f"{ws}/s.segy", "--initial", "constant:2000", "--out", out, "--bands", "nan"]), "--bands")
    assert not os.path.exists(out)
    assert isinstance(invoke(["fwi", f"{ws}/s.segy", "--initial", "constant:2000", "--out", out, "--bands", "4,full",
                              "--no-progress"]).exception, Reached)
    out = str(tmp_path / "inv")
    one_line_error(invoke(["invert", f"{ws}/nan.segy", "--out", out]), "nan.segy", "trace 17")
    assert not os.path.exists(out)
    one_line_error(invoke(["invert", f"{ws}/s.segy", "--out", out, "--model", f"{ws}/net_trunc"]), "net_trunc")
    assert not os.path.exists(out)
    assert isinstance(invoke(["invert", f"{ws}/s.segy", "--out", out, "--adapt", "off", "--no-progress"]).exception, Reached)


def test_corrupt_fwi_checkpoint_on_resume(ws, tmp_path, monkeypatch):
    fwi_mod = importlib.import_module("hybridfwi.inversion.fwi")

    out = tmp_path / "run"
    args = ["fwi", f"{ws}/s.segy", "--initial", "constant:2000", "--out", out, "--iterations", "2"]
    monkeypatch.setattr(fwi_mod.FWI, "run", _stop)
    assert isinstance(invoke(args).exception, Reached)  # the run folder exists, as after a kill
    ckpt = out / "checkpoint.pt"
    for damage in (b"", b"garbage" * 10, b"PK\x03\x04" + b"\0" * 100):
        ckpt.write_bytes(damage)
        before = _snapshot(str(out))
        one_line_error(invoke(args + ["--resume"]), "checkpoint.pt", "delete")
        assert _snapshot(str(out)) == before
    ckpt.unlink()
    assert isinstance(invoke(args + ["--resume"]).exception, Reached)


def test_evaluate_never_writes_bare_nan(ws, tmp_path):
    out = tmp_path / "e.json"
    r = invoke(["evaluate", "--data", f"{ws}/ds_nanmodel", "--out", out, "--device", "cpu"])
    if r.exit_code == 0:
        text = out.read_text()
        assert "NaN" not in text and "Infinity" not in text
        json.loads(text)
    else:
        one_line_error(r, "ds_nanmodel")
        assert not out.exists()


@pytest.mark.parametrize("damage", [
    "truncated", "empty", "text", "pickle", "data-only", "overlap",
    "shape",
    "model-shape",
    "name",
    "past-the-shard",
    "folder",
])
def test_generate_resumes_over_a_damaged_partial_chunk(ws, tmp_path, damage):
    """An interrupted dataset whose .partial chunk was damaged is finished, with the same bytes."""
    ref_d, ref_m = np.load(f"{ws}/ds/data0.npy"), np.load(f"{ws}/ds/model0.npy")
    out = tmp_path / "ds"
    shutil.copytree(f"{ws}/ds", out)
    m = json.loads((out / "manifest.json").read_text())
    os.remove(out / "data0.npy")
    os.remove(out / "model0.npy")
    (out / "manifest.json").write_text(json.dumps({**m, "complete": False}))
    part = out / ".partial"
    part.mkdir()
    np.save(part / "shard0_0.data.npy", ref_d[:1])
    np.save(part / "shard0_0.model.npy", ref_m[:1])
    d, mp = part / "shard0_1.data.npy", part / "shard0_1.model.npy"
    np.save(d, ref_d[1:])
    np.save(mp, ref_m[1:])
    if damage == "truncated":
        d.write_bytes(d.read_bytes()[:1000])
    elif damage == "empty":
        d.write_bytes(b"")
    elif damage == "text":
        d.write_text("not an array\n")
    elif damage == "pickle":
        np.save(d, np.array([None], dtype=object), allow_pickle=True)
    elif damage == "data-only":
        mp.unlink()
    elif damage == "overlap":
        np.save(part / "shard0_0.data.npy", ref_d)
        np.save(part / "shard0_0.model.npy", ref_m)
    elif damage == "shape":
        np.save(d, ref_d[1:, :, :10])
    elif damage == "model-shape":
        np.save(mp, ref_m[1:, :, :5])
    elif damage == "name":
        d.rename(part / "shard0_x.data.npy")
        mp.rename(part / "shard0_x.model.npy")
    elif damage == "past-the-shard":
        np.save(d, np.concatenate([ref_d[1:]] * 3))
        np.save(mp, np.concatenate([ref_m[1:]] * 3))
    elif damage == "folder":
        d.unlink()
        d.mkdir()
    r = invoke(["generate", "--family", "flatvel-a", "--count", "2", "--seed", "200000", "--geometry", f"{ws}/G.json", "--out", out,
                "--batch", "1", "--no-progress", "--device", "cpu"])
    assert r.exit_code == 0, (r.output, r.exception)
    np.testing.assert_array_equal(np.load(out / "data0.npy"), ref_d)
    np.testing.assert_array_equal(np.load(out / "model0.npy"), ref_m)
    assert not part.exists() or not os.listdir(part), os.listdir(part)


def test_cache_clear_checks_keys_before_deleting(tmp_path):
    root = tmp_path / "cache" / "adapters"
    (root / "aaa").mkdir(parents=True)
    (root / "aaa" / "complete.json").write_text("{}")
    one_line_error(invoke(["cache", "clear", "aaa", "nokey", "--cache", tmp_path / "cache"]), "nokey")
    assert (root / "aaa").exists()
    _ok(invoke(["cache", "clear", "aaa", "--cache", tmp_path / "cache"]))
    assert not (root / "aaa").exists()


def test_compare_resume_redoes_a_damaged_method_record(ws, tmp_path, monkeypatch):
    """A method record damaged by hand (or a full disk) is redone on --resume, not a traceback."""
    from hybridfwi.workflow import compare_run

    seen = {}

    def fake_compare(problem, cfg, true, **kw):
        seen.update(kw["finished"])
        raise Reached

    monkeypatch.setattr(compare_run, "compare", fake_compare)
    out = tmp_path / "cmp"
    args = ["compare", f"{ws}/s.segy", "--methods", "fwi_gradient", "--adapt", "off", "--out", out, "--no-progress"]
    assert isinstance(invoke(args).exception, Reached)
    (out / "methods").mkdir()
    (out / "models").mkdir()
    (out / "methods" / "fwi_gradient.json").write_text("{damaged")
    np.save(out / "models" / "fwi_gradient.npy", np.ones((40, 60), np.float32))
    (out / "methods" / "dl.json").write_text("{}")  # its model is missing
    assert isinstance(invoke(args + ["--resume"]).exception, Reached)
    assert seen == {}
