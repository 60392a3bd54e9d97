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
import queue
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.utils.data import Dataset

from hybridfwi import dist
from hybridfwi.core.survey import Geometry
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_path, atomic_save_npy, atomic_write_text
from hybridfwi.physics.forward import ForwardConfig, check_dispersion, resolve_device, simulate
from hybridfwi.synth import seeds
from hybridfwi.synth.families import get_family, make_model

__all__ = ["GenerateConfig", "generate_dataset", "plan_shards", "ShotDataset", "read_manifest", "MANIFEST", "FORMAT",
           "ModelBatches"]

MANIFEST = "manifest.json"
FORMAT = "hybridfwi-dataset/1"


@dataclass
class GenerateConfig:
    """What ``hybridfwi generate`` makes.

    Attributes:
        families: family names, in order.
        count: samples per family (> 0).
        out: dataset folder.
        geometry: model grid and acquisition.
        seed: dataset seed; model ``i`` of family ``f`` depends only on ``(seed, f, i)``.
        purpose: what the data are for (``pretrain``, ``validation``, ``adaptation``, ``benchmark``,
            ``example``); the seed must lie in that purpose's range (:mod:`hybridfwi.synth.seeds`).
        forward: modelling options.
        batch: models per deepwave call (affects speed and memory, never the bytes written);
            None: 8 on a CPU, 256 on a GPU.
        shard_size: samples per ``dataK.npy`` (OpenFWI publishes 500).
        water: ``(velocity m/s, seabed depth m)``: every model gets this water layer on top (a
            survey-specific training set for marine data); None leaves the families as they are.
        workers: processes drawing models (torch DataLoader workers); None: 0 on a CPU, up to 8 on a GPU.
    """

    families: Sequence[str]
    count: int
    out: str
    geometry: Geometry
    seed: int = 0
    purpose: str = "pretrain"
    forward: ForwardConfig = field(default_factory=ForwardConfig)
    batch: int | None = None
    shard_size: int = 500
    water: tuple | None = None
    workers: int | None = None

    def validate(self) -> None:
        if not self.families:
            raise InputError("give at least one --family")
        fams = [get_family(f) for f in self.families]
        if len(set(self.families)) != len(self.families):
            raise InputError("a --family is given twice; name each family once")
        if isinstance(self.count, bool) or not isinstance(self.count, (int, np.integer)) or self.count <= 0:
            raise InputError(f"--count must be a positive integer, got {self.count}")
        seeds.check(self.purpose, self.seed)
        if self.batch is not None and (isinstance(self.batch, bool) or self.batch <= 0):
            raise InputError(f"--batch must be a positive integer, got {self.batch}")
        if self.shard_size <= 0:
            raise InputError(f"--shard-size must be a positive integer, got {self.shard_size}")
        if self.workers is not None and self.workers < 0:
            raise InputError(f"--workers must be >= 0, got {self.workers}")
        self.geometry.validate()
        if self.water is not None and not (len(self.water) == 2 and self.water[0] > 0 and self.water[1] >= 0):
            raise InputError(f"water must be (velocity m/s > 0, seabed depth m >= 0), got {self.water!r}")
        vmin = min(f.vmin for f in fams)
        vmax = max(f.vmax for f in fams)
        self.forward = self.forward.covering(vmax)
        check_dispersion(min(vmin, self.water[0]) if self.water else vmin, self.geometry.grid, self.geometry.survey, self.forward)

    def identity(self) -> dict:
        """What the bytes of the dataset depend on (a resume must match it exactly)."""
        fwd = self.forward.to_dict()
        fwd.pop("device")
        extra = {"water": [float(v) for v in self.water]} if self.water is not None else {}
        return extra | {
            "families": list(self.families),
            "count_per_family": int(self.count),
            "seed": int(self.seed),
            "purpose": self.purpose,
            "shard_size": int(self.shard_size),
            "geometry": self.geometry.to_dict(),
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

    import hybridfwi

    return {"hybridfwi": hybridfwi.__version__, "deepwave": deepwave.__version__, "torch": torch.__version__, "numpy": np.__version__}


def _prepare_folder(cfg: GenerateConfig) -> dict | None:
    """Check ``cfg.out``; return the manifest of a dataset to resume, or None for a new one."""
    from hybridfwi.io.atomic import check_parent

    out = cfg.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise InputError(f"--out {out!r} is a file; give a folder path (new, empty, or a dataset to resume)")
    check_parent(out)
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


class ModelBatches(torch.utils.data.Dataset):
    """Batches of seeded models as a torch Dataset, so DataLoader workers can draw them in parallel.

    Item ``i`` is ``(models (n, nz, nx) float32 m/s, tag)`` for the ``i``-th ``(specs, tag)`` job,
    ``specs`` a list of ``(family, seed, index)``; every model depends only on its spec.
    """

    def __init__(self, jobs: list[tuple[list, object]], nz: int, nx: int, water: tuple | None = None,
                 z: np.ndarray | None = None):
        self.jobs, self.nz, self.nx, self.water, self.z = jobs, nz, nx, water, z

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, i: int):
        specs, tag = self.jobs[i]
        models = np.stack([make_model(fam, seed, j, self.nz, self.nx) for fam, seed, j in specs])
        if self.water is not None:
            models[:, self.z < self.water[1]] = self.water[0]
        return torch.from_numpy(models), tag


def _loader(ds: ModelBatches, workers: int, pin: bool):
    return torch.utils.data.DataLoader(ds, batch_size=None, shuffle=False, num_workers=workers, pin_memory=pin,
                                       prefetch_factor=4 if workers else None, persistent_workers=False)


class _Writer:
    """Saves chunks in a background thread, so the GPU keeps modelling while files are written."""

    def __init__(self):
        self.q: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while True:
            job = self.q.get()
            if job is None:
                return
            try:
                dpath, data, mpath, models = job
                atomic_save_npy(dpath, data)
                atomic_save_npy(mpath, models)  # written last: marks the chunk complete
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                self.error = exc

    def put(self, *job):
        if self.error:
            raise self.error
        self.q.put(job)

    def close(self):
        self.q.put(None)
        self.t.join()
        if self.error:
            raise self.error


def generate_dataset(cfg: GenerateConfig, progress: bool = True, on_chunk: Callable[[int], None] | None = None) -> dict:
    """Generate (or resume) a dataset; return its manifest.

    Under ``torchrun`` every rank models its own share of the chunks (round robin) and rank 0
    assembles the shards; the bytes do not depend on the number of processes, the batch size or
    the device, and a run interrupted with one world size resumes with another.

    Args:
        cfg: what to make.
        progress: show a progress bar with samples/s on stderr.
        on_chunk: called with the number of samples done after every saved chunk (for tests/UIs).

    Returns:
        The manifest dict, also written to ``cfg.out/manifest.json``.
    """
    from tqdm.auto import tqdm

    cfg.validate()
    device = resolve_device(dist.device_for(cfg.forward.device))
    gpu = device.type == "cuda"
    batch = cfg.batch or (256 if gpu else 8)
    workers = cfg.workers if cfg.workers is not None else (min(8, max((os.cpu_count() or 1) - 1, 0)) if gpu else 0)
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
    partial = os.path.join(cfg.out, ".partial")
    with dist.main_first():
        # rank 0 checks the folder and writes the manifest of a new dataset inside this block: had
        # it written it after the block, another rank checking the folder at that moment could see
        # a manifest.json appear between its two looks and call the folder "not a dataset"
        old = _prepare_folder(cfg)
        if dist.is_main():
            os.makedirs(partial, exist_ok=True)
            _clean_temporaries(cfg.out)
            _clean_temporaries(partial)
            if old is None:
                atomic_write_text(os.path.join(cfg.out, MANIFEST), json.dumps(manifest, indent=2) + "\n")

    g, survey = cfg.geometry.grid, cfg.geometry.survey
    # Rank 0 alone reads (and tidies) what is on disk and sends it to the others: every rank must
    # derive the same chunk list from the same state (the round robin below relies on it), and
    # ranks removing the same damaged chunk at once would race.
    state = None
    if dist.is_main():
        done_shards = [os.path.exists(os.path.join(cfg.out, s["data"])) and os.path.exists(os.path.join(cfg.out, s["model"]))
                       for s in shards]
        for k, finished in enumerate(done_shards):
            if finished:  # leftovers of a kill between assembling a shard and removing its chunks
                for leftover in glob.glob(os.path.join(partial, f"shard{k}_*.npy")):
                    os.remove(leftover)
        existing = [{} if done_shards[k] else _existing_chunks(partial, k, shards[k]["count"], cfg.geometry)
                    for k in range(len(shards))]
        state = (done_shards, existing)
    done_shards, existing = dist.broadcast_object(state)
    done = sum(s["count"] for s, d in zip(shards, done_shards) if d)
    done += sum(hi - lo for chunks in existing for lo, (hi, _, _) in chunks.items())
    # the chunks still to model, in a fixed order; rank r takes every world_size-th
    todo: list[tuple[int, int, int]] = []
    uses: list[list[tuple[int, int, str, str]]] = []
    for k, shard in enumerate(shards):
        covered = np.zeros(shard["count"], dtype=bool)
        use: list[tuple[int, int, str, str]] = []
        for lo, (hi, dpath, mpath) in sorted(existing[k].items()):
            if covered[lo:hi].any():  # overlaps a chunk already taken: redundant
                if dist.is_main():
                    os.remove(dpath)
                    os.remove(mpath)
                continue
            covered[lo:hi] = True
            use.append((lo, hi, dpath, mpath))
        uses.append(use)
        if not done_shards[k]:
            todo += [(k, lo, hi) for lo, hi in _batches(covered, batch)]
    mine = [todo[i] for i in dist.shard(len(todo))]
    jobs = [([(shards[k]["family"], cfg.seed, j) for j in range(shards[k]["start"] + lo, shards[k]["start"] + hi)], (k, lo, hi))
            for k, lo, hi in mine]
    fwd = ForwardConfig(**{**cfg.forward.to_dict(), "device": str(device)})
    bar = tqdm(total=manifest["total"], initial=done, unit="sample", desc="generate", disable=not progress or not dist.is_main(),
               dynamic_ncols=True)
    writer = _Writer()
    try:
        for models, (k, lo, hi) in _loader(ModelBatches(jobs, g.nz, g.nx, cfg.water, g.z), workers, gpu):
            with torch.no_grad():
                data = simulate(models.to(device, non_blocking=True), g, survey, fwd).cpu().numpy()
            dpath = os.path.join(partial, f"shard{k}_{lo}.data.npy")
            mpath = os.path.join(partial, f"shard{k}_{lo}.model.npy")
            writer.put(dpath, data, mpath, models.numpy()[:, None])
            bar.update((hi - lo) * dist.world_size())
            if on_chunk is not None:
                on_chunk(bar.n)
        writer.close()
    finally:
        bar.close()
        if writer.t.is_alive():
            writer.close()
    dist.barrier()
    if dist.is_main():
        for k, shard in enumerate(shards):
            if done_shards[k]:
                continue
            chunks = _existing_chunks(partial, k, shard["count"], cfg.geometry)
            use = sorted((lo, hi, d, m) for lo, (hi, d, m) in chunks.items())
            _assemble(cfg.out, shard, use, cfg.geometry)
            for _, _, dpath, mpath in use:
                os.remove(dpath)
                os.remove(mpath)
        manifest["complete"] = True
        atomic_write_text(os.path.join(cfg.out, MANIFEST), json.dumps(manifest, indent=2) + "\n")
        if os.path.isdir(partial) and not os.listdir(partial):
            os.rmdir(partial)
    dist.barrier()
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


def _existing_chunks(partial: str, k: int, count: int | None = None, geometry: Geometry | None = None) -> dict[int, tuple[int, str, str]]:
    """Complete chunks of shard ``k`` on disk: ``{lo: (hi, data_path, model_path)}``.

    Anything that is not a complete, well-formed chunk of this shard (unreadable, truncated, the
    wrong shapes, running past the shard's ``count`` samples, a name that is not ``shard<k>_<lo>``,
    a folder) is removed, so that it is modelled again.
    """
    import shutil

    pattern = re.compile(rf"shard{k}_(\d+)\.(data|model)\.npy$")
    found = {}
    shape_d = None if geometry is None else tuple(geometry.survey.data_shape)
    shape_m = None if geometry is None else (1, *geometry.grid.shape)
    for path in sorted(glob.glob(os.path.join(partial, f"shard{k}_*"))):
        if not os.path.lexists(path):  # removed with its other half
            continue
        name = os.path.basename(path)
        m = pattern.match(name)
        if m is None or not os.path.isfile(path):
            shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.remove(path)
            continue
        if m.group(2) != "data":
            continue
        lo = int(m.group(1))
        dpath, mpath = path, path.replace(".data.npy", ".model.npy")
        if not os.path.isfile(mpath):
            continue  # the model half marks completion: not there yet, the chunk is modelled again
        try:
            d = np.load(dpath, mmap_mode="r")
            mo = np.load(mpath, mmap_mode="r")
            n = d.shape[0]
            if mo.shape[0] != n or n == 0:
                raise ValueError("chunk halves disagree")
            if shape_d is not None and (tuple(d.shape[1:]) != shape_d or tuple(mo.shape[1:]) != shape_m):
                raise ValueError("chunk of another geometry")
            if count is not None and lo + n > count:
                raise ValueError("chunk runs past its shard")
        except (ValueError, OSError, EOFError):  # damaged by hand or by a full disk: model it again
            for p in (dpath, mpath):
                if os.path.exists(p):
                    os.remove(p)
            continue
        found[lo] = (lo + n, dpath, mpath)
    return found


def _assemble(out: str, shard: dict, chunks: list[tuple[int, int, str, str]], geometry: Geometry) -> None:
    """Concatenate a shard's chunks into its final files (model last: it marks completion)."""
    n = shard["count"]
    g = geometry.grid
    covered = np.zeros(n, dtype=bool)
    for lo, hi, _, _ in chunks:
        covered[lo:hi] = True
    if not covered.all():
        raise RuntimeError(f"shard {shard['data']}: chunks missing after generation")
    for key, shape in (("data", (n, *geometry.survey.data_shape)), ("model", (n, 1, g.nz, g.nx))):
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
    ``(1, nz, nx)`` (m/s); ``family(i)`` names sample ``i``'s family ("" when unknown) and
    ``geometry(i)`` its grid and acquisition (None for a folder without a manifest).
    """

    def __init__(self, roots: str | Sequence[str], families: Sequence[str] | None = None):
        roots = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
        self.files: list[tuple[str, str, str, int]] = []  # (data, model, family, root index)
        self.geometries: list[Geometry | None] = []
        self.manifests: list[dict | None] = []
        self.roots = [os.fspath(r) for r in roots]
        for r, root in enumerate(roots):
            root = os.fspath(root)
            if not os.path.isdir(root):
                raise InputError(f"dataset folder {root!r} does not exist")
            manifest = read_manifest(root)
            self.manifests.append(manifest)
            if manifest is not None:
                if not manifest.get("complete", False):
                    raise InputError(f"dataset {root!r} is incomplete; re-run the same `hybridfwi generate` command to finish it")
                try:
                    for s in manifest["shards"]:
                        self.files.append((os.path.join(root, s["data"]), os.path.join(root, s["model"]), s["family"], r))
                    self.geometries.append(Geometry.from_dict(manifest["config"]["geometry"]))
                except (KeyError, TypeError) as exc:
                    raise InputError(f"{os.path.join(root, MANIFEST)} is not a hybridfwi dataset manifest (missing {exc})") from None
            else:
                pairs = _openfwi_pairs(root)
                if not pairs:
                    raise InputError(f"{root!r} holds no manifest.json and no data*.npy/model*.npy files")
                self.files.extend((d, m, "", r) for d, m in pairs)
                self.geometries.append(None)
        if families is not None:
            self.files = [f for f in self.files if f[2] in families]
        self._data = []
        self._model = []
        self._family: list[str] = []
        self._root: list[int] = []
        lengths = []
        for dpath, mpath, fam, r in self.files:
            for p in (dpath, mpath):
                if not os.path.isfile(p):
                    raise InputError(f"dataset {self.roots[r]!r} is missing {os.path.basename(p)}; regenerate it or remove it from --data")
            try:
                d = np.load(dpath, mmap_mode="r", allow_pickle=False)
                m = np.load(mpath, mmap_mode="r", allow_pickle=False)
            except (ValueError, OSError, EOFError) as exc:
                raise InputError(f"{dpath} / {mpath}: not readable .npy arrays ({exc})") from None
            if d.ndim != 4 or m.ndim != 4 or d.shape[0] != m.shape[0]:
                raise InputError(f"{dpath} / {mpath}: expected (n, shots, nt, receivers) and (n, 1, nz, nx), got {d.shape} and {m.shape}")
            self._data.append(d)
            self._model.append(m)
            self._family.append(fam)
            self._root.append(r)
            lengths.append(d.shape[0])
        if not lengths:
            raise InputError(f"no samples in {', '.join(self.roots)}" + (" for the families asked for" if families else ""))
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

    def geometry(self, i: int) -> Geometry | None:
        return self.geometries[self._root[self._locate(i)[0]]]

    def root_index(self, i: int) -> int:
        return self._root[self._locate(i)[0]]

    def arrays(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``i`` as numpy arrays (data, model)."""
        f, j = self._locate(i)
        return np.asarray(self._data[f][j], dtype=np.float32), np.asarray(self._model[f][j], dtype=np.float32)

    def __getitem__(self, i: int):
        d, m = self.arrays(i)
        return torch.from_numpy(d.copy()), torch.from_numpy(m.copy())
