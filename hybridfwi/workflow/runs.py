"""Run folders: the only place a run is written to disk.

A run folder holds ``run.json`` (what kind of run, with which settings) from the moment its first
computation starts, resumable state (FWI checkpoints) while it runs, and its results, every file
written atomically. Everything a run needs is read and checked before the folder is created, so
bad input leaves nothing behind; a folder holding a run is continued only with ``resume`` and the
same settings.

Under ``torchrun`` every rank computes (the work is split inside the library) and only rank 0
writes: the ``save_*`` methods do nothing on the other ranks.
"""

from __future__ import annotations

import json
import os

import numpy as np

from hybridfwi import dist
from hybridfwi.core.model import VelocityModel
from hybridfwi.errors import InputError
from hybridfwi.io.atomic import atomic_save_npy, atomic_write_text

__all__ = ["RunFolder", "load_problem", "to_json"]

MARKER = "run.json"

#: Settings added after runs were first recorded, each with the value that reproduces the behaviour
#: before it existed (dotted names, as in ``RunFolder``'s ``renew``). A record that lacks one matches
#: a run that sets it to that value, so a new option leaves older runs resumable.
ADDED_SETTINGS = {"hybrid.pga_warmup": 0, "hybrid.pga_keep": "best", "hybrid.dl_flip": False, "hybrid.pga_from_blend": True,
                  "hybrid.pga_holdout_evidence": 0.0, "hybrid.fwi_after_pga": "all",
                  "hybrid.pga_after_adapt": True, "hybrid.adapt_families": None,
                  "hybrid.fwi.smooth_wavelengths": 0.0}


def to_json(obj) -> str:
    """JSON text with numpy values turned into plain numbers and non-finite floats into null."""

    def clean(o):
        if isinstance(o, dict):
            return {str(k): clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        if isinstance(o, np.ndarray):
            return clean(o.tolist())
        if isinstance(o, (np.floating, float)):
            return float(o) if np.isfinite(o) else None
        if isinstance(o, np.integer):
            return int(o)
        if isinstance(o, np.bool_):
            return bool(o)
        return o

    return json.dumps(clean(obj), indent=2, allow_nan=False) + "\n"


def _differences(a, b, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ between two records (``hybrid.pga_lr``, ``methods``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            out += _differences(a.get(k), b.get(k), f"{prefix}{k}.")
        return out
    return [] if a == b else [prefix[:-1]]


class RunFolder:
    """One run's folder.

    Args:
        path: the folder.
        kind: ``fwi``, ``invert``, ``compare``, ``predict``, ``benchmark``.
        settings: what the results depend on (a resumed run must match it).
        resume: continue a run already there.
        renew: dotted setting names (``"hybrid.pga_lr"``) a resumed run may have recorded differently:
            those of the methods being redone. The record is then rewritten with today's settings.
    """

    def __init__(self, path: str, kind: str, settings: dict, resume: bool = False, renew: tuple = ()):
        self.path, self.kind, self.settings, self.resume = os.fspath(path), kind, json.loads(to_json(settings)), resume
        self.renew = tuple(renew)

    def _comparable(self, settings: dict) -> dict:
        """``settings`` without the ``renew`` entries, nor the ``ADDED_SETTINGS`` at their old behaviour."""
        out = json.loads(json.dumps(settings))
        for name in (*self.renew, *ADDED_SETTINGS):
            *parents, leaf = name.split(".")
            d = out
            for k in parents:
                d = d.get(k) if isinstance(d, dict) else None
            if isinstance(d, dict) and (name in self.renew or d.get(leaf, ADDED_SETTINGS[name]) == ADDED_SETTINGS[name]):
                d.pop(leaf, None)
        return out

    def check(self) -> "RunFolder":
        """Refuse a folder that is a file, that holds something else, or that holds another run."""
        from hybridfwi.io.atomic import check_parent

        p = self.path
        if os.path.exists(p) and not os.path.isdir(p):
            raise InputError(f"--out {p!r} is a file; give a folder for the run")
        check_parent(p)
        if os.path.isdir(p) and os.listdir(p):
            marker = os.path.join(p, MARKER)
            if not os.path.exists(marker):
                raise InputError(f"--out {p!r} is a non-empty folder that is not a hybridfwi run; choose a new or empty folder")
            if not self.resume:
                raise InputError(f"--out {p!r} already holds a run; add --resume to continue it, or choose another --out")
            try:
                with open(marker, encoding="utf-8") as fh:
                    old = json.load(fh)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                raise InputError(f"{marker} is damaged; choose another --out") from None
            before, now = self._comparable(old.get("settings") or {}), self._comparable(self.settings)
            if old.get("kind") != self.kind or before != now:
                which = _differences(before, now) if old.get("kind") == self.kind else []
                named = f" ({', '.join(which[:4])}{', ...' if len(which) > 4 else ''})" if which else ""
                raise InputError(f"--out {p!r} holds a {old.get('kind')} run made with other settings{named}; use the same options "
                                 f"to resume it, or choose another --out")
        return self

    def create(self) -> "RunFolder":
        dist.barrier()  # every rank has checked the folder before rank 0 marks it
        if dist.is_main():
            os.makedirs(self.path, exist_ok=True)
            marker = os.path.join(self.path, MARKER)
            if not os.path.exists(marker) or self.renew:  # check() passed: the record differs in renew entries at most
                atomic_write_text(marker, to_json({"kind": self.kind, "settings": self.settings}))
        dist.barrier()
        return self

    def file(self, *name: str) -> str:
        path = os.path.join(self.path, *name)
        if dist.is_main():  # only rank 0 writes, folders included
            os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    def save_npy(self, name: str, array: np.ndarray) -> str:
        path = self.file(name)
        if dist.is_main():
            atomic_save_npy(path, np.asarray(array, np.float32))
        return path

    def save_json(self, name: str, obj) -> str:
        path = self.file(name)
        if dist.is_main():
            atomic_write_text(path, to_json(obj))
        return path

    def save_text(self, name: str, text: str) -> str:
        path = self.file(name)
        if dist.is_main():
            atomic_write_text(path, text)
        return path

    def save_model(self, stem: str, model: VelocityModel, note: str) -> None:
        """``stem.npy`` and ``stem.segy`` (depth-sampled SEG-Y)."""
        from hybridfwi.io.segy import write_model_segy

        self.save_npy(stem + ".npy", model.values)
        if dist.is_main():
            write_model_segy(self.file(stem + ".segy"), model, note=note)

    def save_figure(self, name: str, fig) -> str:
        from hybridfwi.viz.plots import _plt, save_figure

        path = self.file(name)
        if dist.is_main():
            save_figure(fig, path)
        else:
            _plt().close(fig)
        return path


def load_problem(path: str, geometry=None, problem_config=None):
    """Read a survey file and build its problem: ``(SurveyFile, Problem)``."""
    from hybridfwi.inversion.problem import build_problem
    from hybridfwi.io.reader import read_survey

    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    sf = read_survey(path, geometry)
    return sf, build_problem(sf, problem_config)
