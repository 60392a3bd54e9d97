"""Prediction with a trained network (optionally with an adapter), through the network frame, and
evaluation on datasets. Library functions: objects in, objects out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hybridfwi.core.grid import Grid
from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.dl.checkpoint import ModelConfig
from hybridfwi.dl.frame import FrameConfig, NetworkFrame, network_frame
from hybridfwi.physics.forward import resolve_device

__all__ = ["frame_for", "flip_applies", "mirror_symmetric", "network_pass", "predict_tiles", "predict_survey", "predict_dataset",
           "evaluate", "EvalConfig", "markdown_table", "check_true_models"]


def check_true_models(ds, purpose: str) -> None:
    """Refuse a dataset whose true models (``model*.npy``) hold NaN, infinite or non-positive velocities,
    naming the file and the first such sample: metrics and training targets need real velocities."""
    from hybridfwi.errors import InputError

    for _, mpath, _, _ in ds.files:
        m = np.load(mpath, mmap_mode="r", allow_pickle=False)
        for lo in range(0, m.shape[0], 256):
            chunk = np.asarray(m[lo:lo + 256])
            bad = ~(np.isfinite(chunk) & (chunk > 0)).reshape(chunk.shape[0], -1).all(axis=1)
            if bad.any():
                k = lo + int(np.flatnonzero(bad)[0])
                raise InputError(f"{mpath}: sample {k} holds NaN, infinite or non-positive velocities; {purpose} needs real "
                                 f"velocities (m/s): repair or regenerate the dataset")


def frame_for(cfg: ModelConfig, grid: Grid, record: ShotRecord, usable_low_hz: float | None = None,
              config: FrameConfig | None = None) -> NetworkFrame:
    """The frame in which the network of ``cfg`` reads ``record`` on ``grid``."""
    return network_frame(grid, record.survey, cfg.net_geometry(), config, usable_low_hz)


def mirror_symmetric(cfg: ModelConfig) -> bool:
    """Whether the network's acquisition is its own mirror image (sources and receivers, in reverse
    order, at ``x_max - x`` within one cell), so that its data read backwards are the data of the
    mirrored model (the wave equation has no handedness): the condition for ``predict_tiles(flip=True)``.
    The shipped network's OpenFWI geometry is, to one cell (sources at 0, 170, 340, 520, 690 m)."""
    geom = cfg.net_geometry()
    g, s = geom.grid, geom.survey
    width = 2 * g.x0 + (g.nx - 1) * g.dx
    rx, rz = s.receiver_x, s.receiver_z
    if not (np.all(np.isfinite(rx)) and np.allclose(s.source_z, s.source_z[::-1]) and np.allclose(rz, rz[::-1, ::-1])):
        return False
    off = max(float(np.max(np.abs(width - s.source_x[::-1] - s.source_x))), float(np.max(np.abs(width - rx[::-1, ::-1] - rx))))
    return off <= g.dx + 1e-6


def flip_applies(cfg: ModelConfig, x: np.ndarray | torch.Tensor) -> bool:
    """Whether flip averaging suits network-frame data ``x`` ``(n, shots, nt, receivers)``: the
    network's acquisition is mirror-symmetric and so is the pattern of live (non-zero) traces of every
    tile. A one-sided spread (a towed streamer read into the network's split spread) is not: its
    mirror image, live on the other side, is data the network never saw."""
    if not mirror_symmetric(cfg):
        return False
    live = np.asarray(torch.as_tensor(x).abs().amax(dim=2).cpu() > 0)
    return bool(np.array_equal(live, live[:, ::-1, ::-1]))


def network_pass(model: torch.nn.Module, cfg: ModelConfig, xn: torch.Tensor, flip: bool = False) -> torch.Tensor:
    """The network's normalised output ``(n, 1, nz_net, nx_net)`` for normalised input ``xn``
    (``(n, channels, nt, receivers)``, :meth:`Normalizer.data`). ``flip``: averaged with its output for
    the mirrored input (shots and receivers in reverse order, the top-boundary channel kept last),
    mirrored back (test-time augmentation, a second pass; see :func:`mirror_symmetric`)."""
    from hybridfwi.errors import InputError

    if not flip:
        return model(xn).float()
    if not mirror_symmetric(cfg):
        raise InputError("flip averaging needs a network whose sources and receivers are mirror-symmetric; "
                         "this one's are not: predict without it")
    n = xn.shape[0]
    if cfg.normalizer.top_channel:
        mirrored = torch.cat([xn[:, :-1].flip((1, 3)), xn[:, -1:].flip(3)], dim=1)
    else:
        mirrored = xn.flip((1, 3))
    y = model(torch.cat([xn, mirrored])).float()
    return 0.5 * (y[:n] + y[n:].flip(-1))


def predict_tiles(model: torch.nn.Module, cfg: ModelConfig, x: np.ndarray | torch.Tensor, free_surface: bool,
                  device: torch.device | str = "cpu", grad: bool = False, flip: bool = False) -> torch.Tensor:
    """Velocities (m/s) ``(n, nz_net, nx_net)`` for raw network-frame data ``(n, shots, nt, receivers)``;
    ``flip``: averaged with the prediction from the mirrored data (:func:`network_pass`)."""
    device = resolve_device(str(device))
    xt = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float32, device=device)
    with torch.set_grad_enabled(grad):
        xn = cfg.normalizer.data(xt, torch.full((xt.shape[0],), float(free_surface), device=device))
        return cfg.normalizer.velocity_inverse(network_pass(model, cfg, xn, flip))[:, 0]


def predict_survey(model: torch.nn.Module, cfg: ModelConfig, grid: Grid, record: ShotRecord, wavelet: np.ndarray | None = None,
                   device: torch.device | str = "cpu", frame: NetworkFrame | None = None,
                   usable_low_hz: float | None = None, flip: bool = False) -> tuple[VelocityModel, NetworkFrame]:
    """The network's velocity model on ``grid`` for a survey's data, and the frame it was read in.

    The data are read into the network's frame (shaped from ``wavelet`` to the network's band,
    tiled, resampled), predicted tile by tile and blended back onto ``grid``. ``flip``: average
    with the prediction from the mirrored data (:func:`predict_tiles`).
    """
    frame = frame or frame_for(cfg, grid, record, usable_low_hz)
    model = model.to(resolve_device(str(device))).eval()
    x = frame.to_network(record, wavelet)
    v = predict_tiles(model, cfg, x, record.survey.free_surface, device, flip=flip).cpu().numpy()
    return VelocityModel(frame.from_network(v), grid), frame


@torch.no_grad()
def predict_dataset(model: torch.nn.Module, cfg: ModelConfig, folder: str, device: str = "auto", flip: bool = False) -> np.ndarray:
    """Velocities ``(n, 1, nz, nx)`` (m/s) for every pair of a dataset folder (in the network's frame);
    ``flip``: averaged with the predictions from the mirrored data (:func:`network_pass`)."""
    from hybridfwi.dl.data import NetworkPairs, load_batch
    from hybridfwi.synth.datasets import ShotDataset

    dev = resolve_device(device)
    model = model.to(dev).eval()
    pairs = NetworkPairs(ShotDataset(folder), cfg.net_geometry(), cfg.out_shape)
    preds = []
    for lo in range(0, len(pairs), 32):
        x, _ = load_batch(pairs, range(lo, min(lo + 32, len(pairs))), cfg.normalizer, dev)
        preds.append(cfg.normalizer.velocity_inverse(network_pass(model, cfg, x, flip)).cpu().numpy())
    return np.concatenate(preds).astype(np.float32)


@dataclass
class EvalConfig:
    """Attributes: model spec (CKPT[+ADAPTER]; None = shipped), dataset folders, device, and ``flip``:
    each prediction averaged with the one from the mirrored data (:func:`network_pass`)."""

    model: str | None
    data: list[str]
    device: str = "auto"
    flip: bool = False


def _summary(m: dict) -> dict:
    return {k: float(np.mean(v)) for k, v in m.items()} | {"samples": len(m["mae"])}


def evaluate(cfg: EvalConfig) -> dict:
    """Metrics per family and overall, for the network and for a trivial baseline (the mean 1-D
    velocity profile of the evaluated models themselves, an oracle-flavoured baseline).

    ``mae``/``rmse`` are on velocity normalised to [-1, 1] by OpenFWI's 1500-4500 m/s range (the
    published numbers' convention), whatever the network's own output range.
    """
    from hybridfwi.dl.data import NetworkPairs, load_batch
    from hybridfwi.dl.finetune import load_model
    from hybridfwi.metrics import VEL_RANGE, ssim
    from hybridfwi.synth.datasets import ShotDataset

    dev = resolve_device(cfg.device)
    model, mcfg = load_model(cfg.model, device=dev)
    ds = ShotDataset(cfg.data)
    check_true_models(ds, "evaluation")
    pairs = NetworkPairs(ds, mcfg.net_geometry(), mcfg.out_shape)
    norm = mcfg.normalizer
    lo_v, hi_v = VEL_RANGE
    fams: dict[str, list[int]] = {}
    for i in range(len(pairs)):
        fams.setdefault(pairs.family(i) or "unlabelled", []).append(i)
    result: dict = {"model": cfg.model or "default", "data": cfg.data, "flip": cfg.flip, "families": {}, "baseline_mean_1d": {}}
    allm: dict = {}
    allb: dict = {}

    def metrics(p: np.ndarray, t: np.ndarray, out: dict) -> None:
        pn, tn = 2 * (p - lo_v) / (hi_v - lo_v) - 1, 2 * (t - lo_v) / (hi_v - lo_v) - 1
        out.setdefault("mae", []).append(float(np.abs(pn - tn).mean()))
        out.setdefault("rmse", []).append(float(np.sqrt(((pn - tn) ** 2).mean())))
        out.setdefault("mae_ms", []).append(float(np.abs(p - t).mean()))
        out.setdefault("rmse_ms", []).append(float(np.sqrt(((p - t) ** 2).mean())))
        out.setdefault("ssim", []).append(ssim(p, t))

    with torch.no_grad():
        for fam, idx in fams.items():
            m: dict = {}
            b: dict = {}
            trues = []
            for lo in range(0, len(idx), 32):
                x, y = load_batch(pairs, idx[lo:lo + 32], norm, dev)
                pv = norm.velocity_inverse(network_pass(model, mcfg, x, cfg.flip)).cpu().numpy()[:, 0]
                tv = norm.velocity_inverse(y).cpu().numpy()[:, 0]
                for p, t in zip(pv, tv):
                    metrics(p, t, m)
                    trues.append(t)
            trues = np.stack(trues)
            profile = trues.mean(axis=(0, 2))[:, None] * np.ones(trues.shape[1:])
            for t in trues:
                metrics(profile, t, b)
            result["families"][fam] = _summary(m)
            result["baseline_mean_1d"][fam] = _summary(b)
            for k in m:
                allm.setdefault(k, []).extend(m[k])
                allb.setdefault(k, []).extend(b[k])
    result["overall"] = _summary(allm)
    result["baseline_overall"] = _summary(allb)
    from hybridfwi.dl.train import machine

    result["machine"] = machine()
    return result


def markdown_table(result: dict) -> str:
    lines = ["| family | samples | MAE | RMSE | SSIM | MAE (m/s) | RMSE (m/s) | baseline MAE | baseline SSIM |",
             "|---|---|---|---|---|---|---|---|---|"]
    rows = list(result["families"].items()) + [("**overall**", result["overall"])]
    for fam, m in rows:
        b = result["baseline_overall"] if fam == "**overall**" else result["baseline_mean_1d"][fam]
        lines.append(f"| {fam} | {m['samples']} | {m['mae']:.4f} | {m['rmse']:.4f} | {m['ssim']:.4f} | {m['mae_ms']:.1f} | "
                     f"{m['rmse_ms']:.1f} | {b['mae']:.4f} | {b['ssim']:.4f} |")
    return "\n".join(lines) + "\n\nMAE/RMSE on velocity normalised to [-1, 1] by 1500-4500 m/s (OpenFWI convention); SSIM on " \
        "[0, 1]; baseline: the mean 1-D profile of the evaluated models.\n"

