"""Sharded synthetic datasets in the OpenFWI layout, resumable after any interruption.

Layout of a dataset folder::

    manifest.json           geometry, families, seed, counts, shard list, package versions
    data0.npy  model0.npy   shard 0: (n, n_shots, nt, n_receivers) and (n, 1, nz, nx), float32
    data1.npy  model1.npy   ...
    .partial/              finished chunks of the shard in progress (removed when it completes)

Every file appears under its final name only when complete (written beside it, then renamed),
so a kill (even SIGKILL) loses at most the chunk being modelled. Re-running the same command
continues where it stopped; because each model depends only on ``(seed, family, index)`` and
deepwave models every shot independently, the shards are byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import glob
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from hybridfwi.core.survey import Survey
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_path, atomic_save_npy, atomic_write_text
from hybridfwi.physics.forward import ForwardConfig, check_dispersion, forward_model, resolve_device
from hybridfwi.synth.families import VMAX, VMIN, get_family, make_model

__all__ = ["GenerateConfig", "generate_dataset", "plan_shards", "ShotDataset", "read_manifest", "MANIFEST", "FORMAT"]

MANIFEST = "manifest.json"
FORMAT = "hybridfwi-dataset/1"


@dataclass
class GenerateConfig:
    """What ``hybridfwi generate`` makes.

    Attributes:
        families: family names, in order.
        count: samples per family (> 0).
        out: dataset folder.
        survey: acquisition geometry (model shape and grid come from it).
        seed: dataset seed; model ``i`` of family ``f`` depends only on ``(seed, f, i)``.
        forward: modelling options.
        batch: models per deepwave call (affects speed and memory, never the bytes written).
        shard_size: samples per ``dataK.npy`` (OpenFWI publishes 500).
        water: ``(velocity m/s, seabed depth m)``: every model gets this water layer on top (a
            survey-specific training set for marine data); None leaves the families as they are.
    """

    families: Sequence[str]
    count: int
    out: str
    survey: Survey
    seed: int = 0
    forward: ForwardConfig = field(default_factory=ForwardConfig)
    batch: int = 8
    shard_size: int = 500
    water: tuple | None = None

    def validate(self) -> None:
        if not self.families:
            raise InputError("give at least one --family")
        for f in self.families:
            get_family(f)
        if len(set(self.families)) != len(self.families):
            raise InputError("a --family is given twice; name each family once")
        if isinstance(self.count, bool) or int(self.count) != self.count or self.count <= 0:
            raise InputError(f"--count must be a positive integer, got {self.count}")
        if self.seed < 0:
            raise InputError(f"--seed must be >= 0, got {self.seed}")
        if self.batch <= 0:
            raise InputError(f"--batch must be a positive integer, got {self.batch}")
        if self.shard_size <= 0:
            raise InputError(f"--shard-size must be a positive integer, got {self.shard_size}")
        self.survey.validate()
        # every family spans [VMIN, VMAX]: refuse a grid or max_vel that some model would break
        if self.water is not None and not (len(self.water) == 2 and self.water[0] > 0 and self.water[1] >= 0):
            raise InputError(f"water must be (velocity m/s > 0, seabed depth m >= 0), got {self.water!r}")
        check_dispersion(min(VMIN, self.water[0]) if self.water else VMIN, self.survey, self.forward)
        if self.forward.max_vel < VMAX:
            raise InputError(f"--max-vel {self.forward.max_vel:g} is below the families' {VMAX:g} m/s maximum; raise it")

    def identity(self) -> dict:
        """What the bytes of the dataset depend on (a resume must match it exactly)."""
        fwd = self.forward.to_dict()
        fwd.pop("device")
        extra = {"water": [float(v) for v in self.water]} if self.water is not None else {}
        return extra | {
            "families": list(self.families),
            "count_per_family": int(self.count),
            "seed": int(self.seed),
            "shard_size": int(self.shard_size),
            "geometry": self.survey.to_dict(),
            "forward": fwd,
        }


def plan_shards(families: Sequence[str], count: int, shard_size: int) -> list[dict]:
    """The shard list: per family, consecutive index ranges of at most ``shard_size`` samples."""
    shards = []
    for fam in families:
        for start in range(0, count, shard_size):
            k = len(shards)
            shards.append(
                {
                    "data": f"data{k}.npy",
                    "model": f"model{k}.npy",
                    "family": fam,
                    "start": start,
                    "count": min(shard_size, count - start),
                }
            )
    return shards


def _versions() -> dict:
    import deepwave
    import torch

    import hybridfwi

    return {"hybridfwi": hybridfwi.__version__, "deepwave": deepwave.__version__, "torch": torch.__version__, "numpy": np.__version__}


def _prepare_folder(cfg: GenerateConfig) -> dict | None:
    """Check ``cfg.out``; return the manifest of a dataset to resume, or None for a new one."""
    out = cfg.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out!r} is a file; give a folder path (new, empty, or a dataset to resume)")
    mpath = os.path.join(out, MANIFEST)
    if os.path.isdir(out) and os.path.exists(mpath):
        try:
            with open(mpath, encoding="utf-8") as fh:
                old = json.load(fh)
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{mpath} is unreadable ({exc}); delete the folder or choose another --out") from None
        if old.get("format") != FORMAT or old.get("config") != json.loads(json.dumps(cfg.identity())):
            raise InputError(
                f"--out {out!r} holds a dataset made with other settings; use the same options to resume it, "
                f"or choose another --out"
            )
        return old
    if os.path.isdir(out) and any(not n.startswith(".") for n in os.listdir(out)):
        raise InputError(f"--out {out!r} is a non-empty folder that is not a hybridfwi dataset; choose a new or empty folder")
    return None


def _clean_temporaries(folder: str) -> None:
    for tmp in glob.glob(os.path.join(folder, ".*.tmp")):
        os.remove(tmp)


def generate_dataset(cfg: GenerateConfig, progress: bool = True, on_chunk: Callable[[int], None] | None = None) -> dict:
    """Generate (or resume) a dataset; return its manifest.

    Args:
        cfg: what to make.
        progress: show a progress bar with samples/s on stderr.
        on_chunk: called with the number of samples done after every saved chunk (for tests/UIs).

    Returns:
        The manifest dict, also written to ``cfg.out/manifest.json``.
    """
    from tqdm.auto import tqdm

    cfg.validate()
    device = resolve_device(cfg.forward.device)
    old = _prepare_folder(cfg)
    os.makedirs(cfg.out, exist_ok=True)
    partial = os.path.join(cfg.out, ".partial")
    os.makedirs(partial, exist_ok=True)
    _clean_temporaries(cfg.out)
    _clean_temporaries(partial)

    shards = plan_shards(cfg.families, cfg.count, cfg.shard_size)
    manifest = {
        "format": FORMAT,
        "config": cfg.identity(),
        "shards": shards,
        "total": sum(s["count"] for s in shards),
        "layout": {"data": "(n, n_shots, nt, n_receivers) float32", "model": "(n, 1, nz, nx) float32, m/s"},
        "versions": _versions(),
        "complete": False,
    }
    if old is None:
        atomic_write_text(os.path.join(cfg.out, MANIFEST), json.dumps(manifest, indent=2) + "\n")

    g = cfg.survey.grid
    done_shards = [
        os.path.exists(os.path.join(cfg.out, s["data"])) and os.path.exists(os.path.join(cfg.out, s["model"]))
        for s in shards
    ]
    for k, finished in enumerate(done_shards):
        if finished:  # leftovers of a kill between assembling a shard and removing its chunks
            for leftover in glob.glob(os.path.join(partial, f"shard{k}_*.npy")):
                os.remove(leftover)
    existing = [{} if done_shards[k] else _existing_chunks(partial, k) for k in range(len(shards))]
    done = sum(s["count"] for s, d in zip(shards, done_shards) if d)
    done += sum(hi - lo for chunks in existing for lo, (hi, _, _) in chunks.items())

    fwd = ForwardConfig(**{**cfg.forward.to_dict(), "device": str(device)})
    bar = tqdm(total=manifest["total"], initial=done, unit="sample", desc="generate", disable=not progress, dynamic_ncols=True)
    try:
        for k, shard in enumerate(shards):
            if done_shards[k]:
                continue
            covered = np.zeros(shard["count"], dtype=bool)
            use: list[tuple[int, int, str, str]] = []
            for lo, (hi, dpath, mpath) in sorted(existing[k].items()):
                if covered[lo:hi].any():  # overlaps a chunk already taken: redundant
                    os.remove(dpath)
                    os.remove(mpath)
                    continue
                covered[lo:hi] = True
                use.append((lo, hi, dpath, mpath))
            for lo, hi in _batches(covered, cfg.batch):
                models = np.stack([make_model(shard["family"], cfg.seed, shard["start"] + i, g.nz, g.nx) for i in range(lo, hi)])
                if cfg.water is not None:
                    models[:, g.z < cfg.water[1]] = cfg.water[0]
                data = forward_model(models, cfg.survey, fwd)
                dpath = os.path.join(partial, f"shard{k}_{lo}.data.npy")
                mpath = os.path.join(partial, f"shard{k}_{lo}.model.npy")
                atomic_save_npy(dpath, data)
                atomic_save_npy(mpath, models[:, None])  # written last: marks the chunk complete
                use.append((lo, hi, dpath, mpath))
                bar.update(hi - lo)
                if on_chunk is not None:
                    on_chunk(bar.n)
            _assemble(cfg.out, shard, sorted(use), cfg.survey)
            for _, _, dpath, mpath in use:
                os.remove(dpath)
                os.remove(mpath)
    finally:
        bar.close()
    manifest["complete"] = True
    atomic_write_text(os.path.join(cfg.out, MANIFEST), json.dumps(manifest, indent=2) + "\n")
    if not os.listdir(partial):
        os.rmdir(partial)
    return manifest


def _batches(covered: np.ndarray, batch: int) -> list[tuple[int, int]]:
    """``(lo, hi)`` ranges of at most ``batch`` samples over the uncovered runs of ``covered``."""
    out = []
    i, n = 0, covered.size
    while i < n:
        if covered[i]:
            i += 1
            continue
        j = i
        while j < n and not covered[j] and j - i < batch:
            j += 1
        out.append((i, j))
        i = j
    return out


def _existing_chunks(partial: str, k: int) -> dict[int, tuple[int, str, str]]:
    """Complete chunks of shard ``k`` on disk: ``{lo: (hi, data_path, model_path)}``."""
    found = {}
    for dpath in glob.glob(os.path.join(partial, f"shard{k}_*.data.npy")):
        lo = int(os.path.basename(dpath).split("_")[1].split(".")[0])
        mpath = dpath.replace(".data.npy", ".model.npy")
        if os.path.exists(mpath):
            n = np.load(dpath, mmap_mode="r").shape[0]
            found[lo] = (lo + n, dpath, mpath)
    return found


def _assemble(out: str, shard: dict, chunks: list[tuple[int, int, str, str]], survey: Survey) -> None:
    """Concatenate a shard's chunks into its final files (model last: it marks completion)."""
    n = shard["count"]
    g = survey.grid
    for key, shape in (("data", (n, *survey.data_shape)), ("model", (n, 1, g.nz, g.nx))):
        with atomic_path(os.path.join(out, shard[key])) as tmp:
            arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
            for lo, hi, dp, mp in chunks:
                arr[lo:hi] = np.load(dp if key == "data" else mp, mmap_mode="r")
            arr.flush()
            del arr


def read_manifest(root: str) -> dict | None:
    """The manifest of a dataset folder, or None when it has none (e.g. an OpenFWI folder)."""
    path = os.path.join(root, MANIFEST)
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc})") from None


def _natural_key(path: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _openfwi_pairs(root: str) -> list[tuple[str, str]]:
    """``(data, model)`` file pairs of a published OpenFWI folder (``data*/model*`` or ``seis*/vel*``)."""
    pairs = []
    for dprefix, mprefix in (("data", "model"), ("seis", "vel")):
        for dpath in glob.glob(os.path.join(root, "**", f"{dprefix}*.npy"), recursive=True):
            folder, name = os.path.split(dpath)
            suffix = name[len(dprefix):]
            candidates = [
                os.path.join(folder, mprefix + suffix),
                os.path.join(os.path.dirname(folder), mprefix, mprefix + suffix),
            ]
            mpath = next((c for c in candidates if os.path.exists(c)), None)
            if mpath is None:
                raise InputError(f"{dpath} has no matching {mprefix}{suffix} beside it; the dataset is incomplete")
            pairs.append((dpath, mpath))
    return sorted(pairs, key=lambda p: _natural_key(p[0]))


class ShotDataset(Dataset):
    """A memory-mapped ``torch.utils.data.Dataset`` over dataset folders.

    Reads folders written by :func:`generate_dataset` (shards listed in ``manifest.json``) and
    published OpenFWI folders (``data*.npy``/``model*.npy`` or ``seis*.npy``/``vel*.npy`` pairs,
    also in ``data/`` and ``model/`` subfolders; no manifest).

    Items are ``(data, model)`` float32 tensors of shapes ``(n_shots, nt, n_receivers)`` and
    ``(1, nz, nx)`` (m/s); ``family(i)`` names sample ``i``'s family ("" when unknown).
    """

    def __init__(self, roots: str | Sequence[str], families: Sequence[str] | None = None):
        roots = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
        self.files: list[tuple[str, str, str]] = []  # (data, model, family)
        self.surveys: list[Survey | None] = []
        for root in roots:
            root = os.fspath(root)
            if not os.path.isdir(root):
                raise InputError(f"dataset folder {root!r} does not exist")
            manifest = read_manifest(root)
            if manifest is not None:
                if not manifest.get("complete", False):
                    raise InputError(f"dataset {root!r} is incomplete; re-run the same `hybridfwi generate` command to finish it")
                for s in manifest["shards"]:
                    self.files.append((os.path.join(root, s["data"]), os.path.join(root, s["model"]), s["family"]))
                self.surveys.append(Survey.from_dict(manifest["config"]["geometry"]))
            else:
                pairs = _openfwi_pairs(root)
                if not pairs:
                    raise InputError(f"{root!r} holds no manifest.json and no data*.npy/model*.npy files")
                self.files.extend((d, m, "") for d, m in pairs)
                self.surveys.append(None)
        if families is not None:
            self.files = [f for f in self.files if f[2] in families]
        self._data = []
        self._model = []
        self._family: list[str] = []
        lengths = []
        for dpath, mpath, fam in self.files:
            d = np.load(dpath, mmap_mode="r", allow_pickle=False)
            m = np.load(mpath, mmap_mode="r", allow_pickle=False)
            if d.ndim != 4 or m.ndim != 4 or d.shape[0] != m.shape[0]:
                raise InputError(f"{dpath} / {mpath}: expected (n, shots, nt, receivers) and (n, 1, nz, nx), got {d.shape} and {m.shape}")
            self._data.append(d)
            self._model.append(m)
            self._family.append(fam)
            lengths.append(d.shape[0])
        self._offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def _locate(self, i: int) -> tuple[int, int]:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for a dataset of {len(self)} samples")
        f = int(np.searchsorted(self._offsets, i, side="right") - 1)
        return f, i - int(self._offsets[f])

    def family(self, i: int) -> str:
        return self._family[self._locate(i)[0]]

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``i`` as numpy arrays (data, model)."""
        f, j = self._locate(i)
        return np.asarray(self._data[f][j], dtype=np.float32), np.asarray(self._model[f][j], dtype=np.float32)

    def __getitem__(self, i: int):
        d, m = self.arrays(i)
        return torch.from_numpy(d.copy()), torch.from_numpy(m.copy())
