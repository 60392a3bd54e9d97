"""The work tests/test_distributed.py runs twice: in its own process (a world of size 1) and under
``torchrun --nproc-per-node 2`` (Gloo on CPU), to compare the results.

Every function is the same code in both cases; only rank 0 saves what the test compares.

Run as ``torchrun ... tests/_dist_worker.py OUT GEOMETRY.json``: generates a dataset into
``OUT/gen``, runs FWI into ``OUT/fwi.npz`` and trains into ``OUT/train_*``.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

from hybridfwi import dist  # noqa: E402
from hybridfwi.core import Geometry  # noqa: E402

# the generate settings of the tests (two families, a few samples, two shards per family, one
# model per chunk so that the chunks are spread over the ranks)
GEN = dict(families=["flatfault-b", "gas"], count=3, seed=5, batch=1, shard_size=2)


def generate(out: str, geometry: Geometry) -> dict:
    from hybridfwi.physics.forward import ForwardConfig
    from hybridfwi.synth.datasets import GenerateConfig, generate_dataset

    return generate_dataset(GenerateConfig(out=out, geometry=geometry, forward=ForwardConfig(device="cpu"), **GEN), progress=False)


def fwi_problem(geometry: Geometry):
    from scipy.ndimage import gaussian_filter

    from hybridfwi.core import ShotRecord, VelocityModel
    from hybridfwi.physics import forward_model
    from hybridfwi.synth.families import make_model

    g = geometry.grid
    true = make_model("curvefault-a", 0, 1, g.nz, g.nx)
    obs = forward_model(true, g, geometry.survey)
    return ShotRecord(obs, geometry.survey), VelocityModel(gaussian_filter(true, 4.0, mode="nearest"), g), true


def run_fwi(geometry: Geometry) -> dict:
    """Two L-BFGS iterations (line searches included) with the wavelet estimated first, the
    final misfit, and data_misfit with a wavelet estimate: every all-reduce of the engine."""
    from hybridfwi.inversion import FWI, FWIConfig
    from hybridfwi.inversion.fwi import data_misfit

    rec, init, true = fwi_problem(geometry)
    cfg = FWIConfig(iterations=2, estimate_wavelet=True, device="cpu")
    res = FWI(rec, init, cfg, true=true).run(progress=False)
    m, _ = data_misfit(res.model, rec, cfg, res.wavelet, estimate=True)
    shares, _ = data_misfit(res.model, rec, cfg, res.wavelet, estimate=True, per_shot=True)  # each rank: its own shots
    return {"model": res.model.values, "wavelet": res.wavelet, "misfits": np.array([h["misfit"] for h in res.history]),
            "final_misfit": np.array(res.final_misfit), "data_misfit": np.array(m), "per_shot": np.asarray(shares)}


class Stop(Exception):
    pass


def train(data: str, out: str, method: str, epochs: int, stop_after: int | None = None) -> dict | None:
    """A width-4 ``compact`` network on the dataset at ``data``, batches of 3 (a 2 + 1 and a 1 + 1
    split over two ranks), BatchNorm statistics frozen; ``method`` ``full`` or ``lora``. With
    ``stop_after`` the run stops after that many epochs (as a kill would: the state file stays)."""
    from hybridfwi.dl.data import NetworkPairs
    from hybridfwi.dl.finetune import adapt
    from hybridfwi.dl.normalize import Normalizer
    from hybridfwi.dl.registry import create_model
    from hybridfwi.dl.train import TrainConfig, fit
    from hybridfwi.synth.datasets import ShotDataset

    ds = ShotDataset(data)
    geom = ds.geometries[0]
    torch.manual_seed(0)
    model = create_model("compact", in_shape=list(geom.survey.data_shape), out_shape=list(geom.grid.shape), width=4)
    if method != "full":
        model = adapt(model, method, rank=2)
    norm = Normalizer.fit(ds, seed=0)
    pairs = NetworkPairs(ds, geom, geom.grid.shape)
    cfg = TrainConfig(epochs=epochs, batch_size=3, lr=1e-2, val_fraction=0.2, seed=0, device="cpu")
    os.makedirs(out, exist_ok=True)

    def on_epoch(entry):
        if stop_after is not None and entry["epoch"] >= stop_after:
            raise Stop

    try:
        return fit(model, pairs, norm, cfg, out, lambda m, info: None, freeze_batchnorm=True, progress=False, on_epoch=on_epoch)
    except Stop:
        return None


def main(out: str, geometry_file: str) -> None:
    dist.init("cpu")
    geometry = Geometry.from_json(geometry_file)
    gen = os.path.join(out, "gen")
    generate(gen, geometry)
    res = run_fwi(geometry)
    if dist.is_main():
        np.savez(os.path.join(out, "fwi.npz"), **res)
    # full network: stopped after epoch 1 (the test resumes it in one process); LoRA: one epoch
    train(gen, os.path.join(out, "train_full"), "full", epochs=2, stop_after=1)
    train(gen, os.path.join(out, "train_lora"), "lora", epochs=1)
    dist.barrier()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
