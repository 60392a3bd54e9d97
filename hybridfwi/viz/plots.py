"""Figures of velocity models and shot gathers. Axes in metres and seconds, colour bars in m/s."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from hybridfwi.core.model import ShotRecord, VelocityModel
from hybridfwi.core.survey import Survey
from hybridfwi.io.atomic import atomic_path

__all__ = ["plot_model", "plot_gathers", "plot_sample", "plot_gallery", "plot_file", "gallery_figure", "plot_model_panels",
           "plot_history", "plot_gather_comparison", "plot_wavelet", "save_figure", "check_figure_path", "plot_compare_curves",
           "plot_suite_bars"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _model_axes(ax, model: VelocityModel, title: str, vmin: float | None, vmax: float | None, survey: Survey | None,
                cmap: str = "jet"):
    g = model.grid
    extent = (g.x0 - g.dx / 2, g.x_max + g.dx / 2, g.z_max + g.dz / 2, g.z0 - g.dz / 2)
    im = ax.imshow(model.values, extent=extent, cmap=cmap, vmin=vmin, vmax=vmax, aspect="equal", interpolation="nearest")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("depth (m)")
    ax.set_title(title)
    if survey is not None:
        m = survey.receiver_mask
        ax.plot(survey.receiver_x[m], survey.receiver_z[m], "v", color="w", ms=2, mec="k", mew=0.3, ls="none")
        ax.plot(survey.source_x, survey.source_z, "*", color="yellow", ms=8, mec="k", mew=0.5, ls="none")
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
    return im


def plot_model(model: VelocityModel, title: str = "velocity", survey: Survey | None = None,
               vmin: float | None = None, vmax: float | None = None):
    """A velocity model in m/s with axes in metres; sources (stars) and receivers (triangles) if given."""
    plt = _plt()
    g = model.grid
    width = 6.0
    height = max(2.5, min(8.0, width * (g.z_max - g.z0) / max(g.x_max - g.x0, 1e-9) + 1.0))
    fig, ax = plt.subplots(figsize=(width + 1.2, height))
    im = _model_axes(ax, model, title, vmin, vmax, survey)
    fig.colorbar(im, ax=ax, label="velocity (m/s)")
    fig.tight_layout()
    return fig


def _gather_axes(ax, record: ShotRecord, shot: int, clip: float):
    s = record.survey
    live = s.receiver_mask[shot]
    off = s.offsets[shot][live]
    order = np.argsort(off)
    t = record.t0 + s.times
    d = record.data[shot][:, live][:, order]
    half = np.diff(off[order]).mean() / 2 if off.size > 1 else 1.0
    ax.imshow(d, cmap="gray", vmin=-clip, vmax=clip, aspect="auto",
              extent=(off[order][0] - half, off[order][-1] + half, t[-1], t[0]), interpolation="nearest")
    ax.set_xlabel("offset (m)")
    ax.set_title(f"shot {shot + 1} (x = {s.source_x[shot]:g} m)")


def plot_gathers(record: ShotRecord, shots: Sequence[int] | None = None, title: str = "", percentile: float = 98.0):
    """Shot gathers side by side: offset in metres across, time in seconds down (shared clip)."""
    plt = _plt()
    s = record.survey
    if shots is None:
        shots = list(range(s.n_shots)) if s.n_shots <= 6 else list(np.linspace(0, s.n_shots - 1, 6).round().astype(int))
    clip = float(np.percentile(np.abs(record.data[list(shots)]), percentile)) or 1.0
    fig, axes = plt.subplots(1, len(shots), figsize=(2.6 * len(shots) + 0.8, 5.0), sharey=True, squeeze=False)
    for ax, k in zip(axes[0], shots):
        _gather_axes(ax, record, int(k), clip)
    axes[0][0].set_ylabel("time (s)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_sample(model: VelocityModel, record: ShotRecord, title: str = ""):
    """A model (with its acquisition) beside up to three of its shot gathers."""
    plt = _plt()
    s = record.survey
    shots = [0, s.n_shots // 2, s.n_shots - 1] if s.n_shots >= 3 else list(range(s.n_shots))
    clip = float(np.percentile(np.abs(record.data[shots]), 98.0)) or 1.0
    fig = plt.figure(figsize=(4.5 + 2.6 * len(shots), 4.8))
    grid = fig.add_gridspec(1, 1 + len(shots), width_ratios=[1.9] + [1.0] * len(shots))
    ax0 = fig.add_subplot(grid[0, 0])
    im = _model_axes(ax0, model, "velocity", None, None, s)
    fig.colorbar(im, ax=ax0, label="velocity (m/s)", shrink=0.8)
    for i, k in enumerate(shots):
        ax = fig.add_subplot(grid[0, 1 + i])
        _gather_axes(ax, record, k, clip)
        if i == 0:
            ax.set_ylabel("time (s)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_gallery(models: Sequence[VelocityModel], titles: Sequence[str], ncols: int = 5, vmin: float = 1500.0, vmax: float = 4500.0):
    """Many models on one colour scale (m/s), e.g. one per family."""
    plt = _plt()
    n = len(models)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols + 1.0, 2.6 * nrows + 0.3), squeeze=False)
    im = None
    for ax, m, t in zip(axes.ravel(), models, titles):
        im = _model_axes(ax, m, t, vmin, vmax, None)
        ax.label_outer()
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.tight_layout()
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), label="velocity (m/s)", shrink=0.9)
    return fig


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> None:
    """Save a figure atomically (format from the extension) and close it."""
    plt = _plt()
    ext = os.path.splitext(os.fspath(path))[1] or ".png"
    with atomic_path(path, suffix=ext) as tmp:
        fig.savefig(tmp, dpi=dpi, format=ext.lstrip("."))
    plt.close(fig)


def check_figure_path(out: str, what: str = "--out") -> None:
    """Refuse a figure path with an unknown extension, a folder, or a parent folder that does not exist."""
    from hybridfwi.errors import InputError

    ext = os.path.splitext(out)[1].lower()
    if ext not in (".png", ".pdf", ".svg", ".jpg"):
        raise InputError(f"{what} {out!r}: use a .png, .pdf, .svg or .jpg file name")
    if os.path.isdir(out):
        raise InputError(f"{what} {out!r} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise InputError(f"{what} {out!r}: the folder {folder!r} does not exist")


def plot_file(target: str, out: str, index: int = 0, spacing: float = 10.0, kind: str = "auto") -> str:
    """Plot what ``target`` holds and save it to ``out``; return what was plotted.

    Args:
        target: a dataset folder (sample ``index``), a shot-gather SEG-Y/SU, a model SEG-Y, or a
            ``.npy`` velocity model ``(nz, nx)`` (grid spacing ``spacing`` metres).
        out: figure path (``.png``, ``.pdf``, ``.svg``).
        index: sample index for a dataset folder.
        spacing: grid spacing of a ``.npy`` model, metres.
        kind: ``auto``, ``shots`` or ``model`` (for SEG-Y files).
    """
    from hybridfwi.core.grid import Grid
    from hybridfwi.core.survey import PRESETS
    from hybridfwi.errors import InputError

    check_figure_path(out)
    if not os.path.exists(target):
        raise InputError(f"{target!r}: no such file or folder")
    if not (np.isfinite(spacing) and spacing > 0):
        raise InputError(f"--spacing must be a positive number of metres, got {spacing!r}")
    if os.path.isdir(target):
        from hybridfwi.synth.datasets import ShotDataset

        ds = ShotDataset(target)
        if not 0 <= index < len(ds):
            raise InputError(f"--index {index} is out of range: the dataset has {len(ds)} samples (0..{len(ds) - 1})")
        data, model = ds.arrays(index)
        geom = ds.geometry(index) or PRESETS["openfwi"]()
        if geom.survey.data_shape != data.shape:
            raise InputError(f"{target!r} has no manifest and its data {data.shape} are not OpenFWI's; cannot place the gathers")
        fam = ds.family(index)
        fig = plot_sample(VelocityModel(model[0], geom.grid), ShotRecord(data, geom.survey),
                          title=f"{os.path.basename(os.path.normpath(target))} sample {index} {fam}".strip())
        what = f"dataset sample {index}"
    elif target.lower().endswith(".npy"):
        from hybridfwi.io.arrays import load_model_file

        v = load_model_file(target, None, "model")
        g = Grid(nz=v.shape[0], nx=v.shape[1], dz=spacing, dx=spacing)
        fig = plot_model(VelocityModel(v, g), title=os.path.basename(target))
        what = "velocity model"
    else:
        from hybridfwi.io.reader import read_survey
        from hybridfwi.io.segy import looks_like_model, read_model_segy

        if kind == "model" or (kind == "auto" and not target.lower().endswith(".su") and looks_like_model(target)):
            fig = plot_model(read_model_segy(target), title=os.path.basename(target))
            what = "velocity model"
        else:
            rec = read_survey(target).record
            fig = plot_gathers(rec, title=os.path.basename(target))
            what = "shot gathers"
    save_figure(fig, out)
    return what


def gallery_figure(out: str, seed: int = 0, nz: int = 70, nx: int = 70, spacing: float = 10.0) -> None:
    """Save one model of every registered family (index 0 under ``seed``) to ``out``."""
    from hybridfwi.core.grid import Grid
    from hybridfwi.synth.families import FAMILIES, make_model

    check_figure_path(out, "--gallery")
    g = Grid(nz=nz, nx=nx, dz=spacing, dx=spacing)
    models = [VelocityModel(make_model(n, seed, 0, nz, nx), g) for n in FAMILIES]
    save_figure(plot_gallery(models, [n + (" (OOD)" if FAMILIES[n].ood else "") for n in FAMILIES], vmax=6000.0), out)


def plot_model_panels(models: Sequence[VelocityModel], titles: Sequence[str], vmin: float | None = None, vmax: float | None = None,
                      cmap: str = "jet", label: str = "velocity (m/s)", ncols: int = 4):
    """Models on one colour scale (m/s), e.g. initial / final / true; ``ncols`` panels per row."""
    plt = _plt()
    vmin = min(m.vmin for m in models) if vmin is None else vmin
    vmax = max(m.vmax for m in models) if vmax is None else vmax
    ncols = min(ncols, len(models))
    nrows = int(np.ceil(len(models) / ncols))
    g = models[0].grid
    aspect = (g.z_max - g.z0 + g.dz) / max(g.x_max - g.x0 + g.dx, 1e-9)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols + 1.0, max(2.2, 4.2 * aspect) * nrows + 0.6), squeeze=False)
    im = None
    for ax, m, t in zip(axes.ravel(), models, titles):
        im = _model_axes(ax, m, t, vmin, vmax, None, cmap)
    for ax in axes.ravel()[len(models):]:
        ax.axis("off")
    fig.tight_layout()
    fig.colorbar(im, ax=axes.ravel().tolist(), label=label, shrink=0.9)
    return fig


def plot_compare_curves(curves: dict, title: str = "misfit and model error per iteration"):
    """Data misfit (and RMSE when known) against iteration for every method on one plot each."""
    plt = _plt()
    has_rmse = any(any("rmse_ms" in e for e in c) for c in curves.values())
    fig, axes = plt.subplots(1, 2 if has_rmse else 1, figsize=(11 if has_rmse else 6, 4), squeeze=False)
    for name, c in curves.items():
        it = [e["iteration"] for e in c if e.get("data_misfit") is not None]
        mf = [e["data_misfit"] for e in c if e.get("data_misfit") is not None]
        if len(it) > 1:
            axes[0][0].semilogy(it, mf, ".-", label=name)
        if has_rmse:
            pts = [(e["iteration"], e["rmse_ms"]) for e in c if e.get("rmse_ms") is not None]
            if len(pts) == 1:
                axes[0][1].axhline(pts[0][1], ls="--", lw=1, label=f"{name} (no FWI)", color="gray")
            elif pts:
                axes[0][1].plot(*zip(*pts), ".-", label=name)
    axes[0][0].set_xlabel("iteration")
    axes[0][0].set_ylabel("data misfit (normalised, in each iteration's band)")
    axes[0][0].set_title(title)
    for ax in axes[0]:
        if ax.get_legend_handles_labels()[0]:  # no curve (no method iterated): no empty legend
            ax.legend(fontsize=8)
    if has_rmse:
        axes[0][1].set_xlabel("iteration")
        axes[0][1].set_ylabel("model RMSE (m/s)")
    fig.tight_layout()
    return fig


def plot_history(history: Sequence[dict], title: str = "FWI misfit"):
    """Data misfit per iteration (log scale), one colour per band; model RMSE when recorded."""
    plt = _plt()
    has_rmse = any("model_rmse_ms" in h for h in history)
    fig, axes = plt.subplots(1, 2 if has_rmse else 1, figsize=(10 if has_rmse else 6, 4), squeeze=False)
    ax = axes[0][0]
    x = np.arange(len(history))
    stages = sorted({h["stage"] for h in history})
    for st in stages:
        idx = [i for i, h in enumerate(history) if h["stage"] == st]
        band = history[idx[0]]["band_hz"]
        ax.semilogy(x[idx], [history[i]["misfit"] for i in idx], "o-", ms=3, label="full band" if band is None else f"<= {band:g} Hz")
    ax.set_xlabel("iteration")
    ax.set_ylabel("data misfit (normalised, per band)")
    ax.set_title(title)
    ax.legend()
    if has_rmse:
        ax2 = axes[0][1]
        ax2.plot(x, [h.get("model_rmse_ms", np.nan) for h in history], "k.-")
        ax2.set_xlabel("iteration")
        ax2.set_ylabel("model RMSE (m/s)")
        ax2.set_title("model error vs the true model")
    fig.tight_layout()
    return fig


def plot_gather_comparison(records: Sequence[ShotRecord], titles: Sequence[str], shot: int, percentile: float = 98.0):
    """The same shot from several records (e.g. observed / initial / final), one clip for all."""
    plt = _plt()
    clip = float(np.percentile(np.abs(records[0].data[shot]), percentile)) or 1.0
    fig, axes = plt.subplots(1, len(records), figsize=(3.0 * len(records) + 0.8, 5.0), sharey=True, squeeze=False)
    for ax, rec, t in zip(axes[0], records, titles):
        _gather_axes(ax, rec, shot, clip)
        ax.set_title(f"{t}\n{ax.get_title()}")
    axes[0][0].set_ylabel("time (s)")
    fig.tight_layout()
    return fig


def plot_wavelet(wavelet: np.ndarray, dt: float, title: str = "source wavelet"):
    """A wavelet (``(nt,)``, sample interval ``dt`` s) in time and its amplitude spectrum."""
    plt = _plt()
    w = np.asarray(wavelet, dtype=np.float64)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    t = dt * np.arange(w.size)
    last = int(np.flatnonzero(np.abs(w) > 1e-3 * np.abs(w).max())[-1]) + 1 if np.any(w) else w.size
    a.plot(t[: max(last, 2)], w[: max(last, 2)], "k-")
    a.set_xlabel("time (s)")
    a.set_title(title)
    f = np.fft.rfftfreq(w.size, dt)
    spec = np.abs(np.fft.rfft(w))
    b.plot(f, spec / (spec.max() or 1.0), "k-")
    b.set_xlabel("frequency (Hz)")
    b.set_ylabel("amplitude (normalised)")
    b.set_xlim(0, f[np.flatnonzero(spec > 0.01 * spec.max())[-1]] * 1.2 if np.any(spec) else f[-1])
    fig.tight_layout()
    return fig


def plot_suite_bars(res: dict, metric: str, title: str):
    """A benchmark's ``metric`` per family (median over cases), one bar per method."""
    plt = _plt()
    fams = list(res["families"])
    methods = list(res["overall"]["methods"])
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(fams) * max(len(methods), 1) / 3 + 2), 4))
    width = 0.8 / max(len(methods), 1)
    for k, m in enumerate(methods):
        vals = [res["families"][f]["methods"].get(m, {}).get(metric, {}).get("median") for f in fams]
        vals = [np.nan if v is None else v for v in vals]
        ax.bar(np.arange(len(fams)) + (k - (len(methods) - 1) / 2) * width, vals, width, label=m)
    ax.set_xticks(np.arange(len(fams)))
    ax.set_xticklabels(fams, rotation=20, ha="right")
    ax.set_ylabel(metric.replace("_ms", " (m/s)"))
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
