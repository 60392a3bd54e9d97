"""Disjoint seed ranges, one per purpose: what tests or demonstrates can never be trained on.

Every synthetic model is ``make_model(family, seed, index)``: the seed decides which models a
dataset holds. Pretraining, held-out validation (the model card, tuning of defaults), survey
adaptation, benchmark suites and shipped examples each draw seeds from their own range, so a
benchmark or example model can never be drawn by pretraining or adaptation, whatever the options:
:func:`check` refuses a seed outside its purpose's range, and training refuses datasets whose
manifest says they were made for a benchmark, an example or validation
(:func:`check_training_dataset`).
"""

from __future__ import annotations

import hashlib

from hybridfwi.errors import InputError

__all__ = ["RANGES", "check", "purpose_of", "adaptation_seed", "check_training_dataset", "TRAINING"]

#: ``purpose -> [first, last]`` seeds (inclusive). Disjoint by construction (tested).
RANGES: dict[str, tuple[int, int]] = {
    "pretrain": (0, 9_999),
    "validation": (10_000, 19_999),
    "adaptation": (20_000, 99_999),
    "benchmark": (100_000, 199_999),
    "example": (200_000, 209_999),
}

#: Purposes whose data may train a network (pretraining and fine-tuning).
TRAINING = ("pretrain", "adaptation")


def purpose_of(seed: int) -> str | None:
    """The purpose whose range holds ``seed`` (None when none does)."""
    for name, (lo, hi) in RANGES.items():
        if lo <= seed <= hi:
            return name
    return None


def check(purpose: str, seed: int) -> int:
    """``seed`` if it lies in ``purpose``'s range, else :class:`InputError`."""
    if purpose not in RANGES:
        raise InputError(f"unknown seed purpose {purpose!r}; known: {', '.join(RANGES)}")
    lo, hi = RANGES[purpose]
    if not isinstance(seed, int) or isinstance(seed, bool) or not lo <= seed <= hi:
        raise InputError(f"seed {seed!r} is not in the {purpose} range {lo}..{hi}; "
                         f"seeds of other purposes ({', '.join(p for p in RANGES if p != purpose)}) are kept apart")
    return seed


def adaptation_seed(key: str) -> int:
    """A seed in the adaptation range derived from a survey's hash key (the same survey, the same seed)."""
    lo, hi = RANGES["adaptation"]
    return lo + int(hashlib.sha256(key.encode()).hexdigest(), 16) % (hi - lo + 1)


def check_training_dataset(manifest: dict | None, folder: str, what: str = "training") -> None:
    """Refuse a dataset made for a benchmark, an example or validation as ``what`` data.

    Folders without a manifest (published OpenFWI data) are the user's own and are accepted.
    """
    if manifest is None:
        return
    cfg = manifest.get("config", {})
    seed = cfg.get("seed")
    purpose = cfg.get("purpose") or (purpose_of(seed) if isinstance(seed, int) else None)
    if purpose not in TRAINING:
        raise InputError(f"dataset {folder!r} was made for {purpose or 'an unknown purpose'} (seed {seed}); {what} data must come "
                         f"from the pretrain ({RANGES['pretrain'][0]}..{RANGES['pretrain'][1]}) or adaptation seed ranges: "
                         f"regenerate it with such a --seed")
