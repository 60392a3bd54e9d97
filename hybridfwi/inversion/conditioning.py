"""Gradient conditioning: freeze regions, taper around sources/receivers, scale with depth."""

from __future__ import annotations

import numpy as np

from hybridfwi.core.grid import Grid
from hybridfwi.core.survey import Survey

__all__ = ["gradient_weight"]


def gradient_weight(
    grid: Grid,
    survey: Survey,
    initial: np.ndarray,
    freeze_above_m: float | None = None,
    freeze_velocity_below: float | None = None,
    taper_radius_m: float = 0.0,
    depth_power: float = 0.0,
) -> np.ndarray:
    """A ``(nz, nx)`` weight in [0, 1] (times depth scaling) that multiplies the model gradient.

    Args:
        grid: the model grid.
        survey: acquisition (positions).
        initial: initial model, m/s, ``(nz, nx)``.
        freeze_above_m: no update at depths shallower than this (e.g. a known water layer).
        freeze_velocity_below: no update where the initial model is at or below this velocity
            (e.g. 1520 m/s to keep water fixed).
        taper_radius_m: the weight rises as a cosine from 0 at every source and receiver to 1 at
            this distance (suppresses their near-field imprint); 0 disables it.
        depth_power: multiply by ``(z / z_max) ** depth_power`` (> 0 boosts deep updates).
    """
    g = grid
    z = g.z[:, None] * np.ones((1, g.nx))
    x = np.ones((g.nz, 1)) * g.x[None, :]
    w = np.ones(g.shape)
    if freeze_above_m is not None:
        w[z < freeze_above_m] = 0.0
    if freeze_velocity_below is not None:
        w[np.asarray(initial) <= freeze_velocity_below] = 0.0
    if taper_radius_m > 0:
        pts = np.concatenate([
            np.stack([survey.source_x, survey.source_z], -1),
            np.stack([survey.receiver_x[survey.receiver_mask], survey.receiver_z[survey.receiver_mask]], -1),
        ])
        pts = np.unique(pts, axis=0)
        dist = np.full(g.shape, np.inf)
        for px, pz in pts:
            dist = np.minimum(dist, np.hypot(x - px, z - pz))
        w *= np.where(dist >= taper_radius_m, 1.0, 0.5 - 0.5 * np.cos(np.pi * np.clip(dist / taper_radius_m, 0, 1)))
    if depth_power:
        zmax = max(g.z_max, g.dz)
        w *= np.maximum(z, g.dz) ** depth_power / zmax ** depth_power
    return w
