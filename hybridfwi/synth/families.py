"""Registry of named, seeded velocity-model generators.

Every generator returns velocities in m/s as a float32 array of shape ``(nz, nx)`` (depth first),
clipped to its family's range: [1500, 4500] m/s for the OpenFWI-style and the held-out families,
[1450, 6000] m/s for the basin families (water over compacting, folded, faulted sediments). Sizes (layer depths, curvature wavelengths, fault throws, lens sizes,
smoothing lengths) are fractions of the model's height or width, so a family works at any
``(nz, nx)`` and any grid spacing, and the same ``(seed, index)`` drawn at twice the resolution
gives the same geology sampled twice as finely.

The same ``(family, seed, index)`` always gives the same model, whatever the batching, worker
count or resume point: each model draws from its own ``numpy`` generator seeded by
``(seed, crc32(family), index)`` and nothing else.

The OpenFWI-style recipes follow the spirit of the OpenFWI families (Deng et al., 2022,
"OpenFWI: Large-scale multi-structural benchmark datasets for full waveform inversion"): ``-a``
is the simpler and smoother version, ``-b`` has more layers and stronger contrasts. They are this
project's own recipes, not OpenFWI's data.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from hybridfwi.errors import InputError

__all__ = ["VMIN", "VMAX", "Family", "FAMILIES", "register_family", "get_family", "make_model", "family_names",
           "PRETRAIN_FAMILIES", "OPENFWI_A", "OPENFWI_B", "BASIN_FAMILIES", "OOD_FAMILIES"]

VMIN = 1500.0  #: lowest velocity of the OpenFWI-style families, m/s
VMAX = 4500.0  #: highest velocity of the OpenFWI-style families, m/s
BASIN_RANGE = (1450.0, 6000.0)  #: velocity range of the basin families, m/s

Generator = Callable[[np.random.Generator, int, int], np.ndarray]


@dataclass(frozen=True)
class Family:
    """A named model generator.

    Attributes:
        name: registry key, e.g. ``"flatvel-a"``.
        generate: ``f(rng, nz, nx) -> (nz, nx)`` float array, m/s.
        ood: ``True`` for the families held out of pretraining (out-of-distribution tests).
        summary: one line for listings.
        vmin, vmax: the velocity range its models are clipped to, m/s.
    """

    name: str
    generate: Generator
    ood: bool
    summary: str
    vmin: float = VMIN
    vmax: float = VMAX


FAMILIES: dict[str, Family] = {}


def register_family(name: str, *, ood: bool = False, vrange: tuple[float, float] = (VMIN, VMAX)) -> Callable[[Generator], Generator]:
    """Decorator that registers a generator under ``name``; its docstring's first paragraph is the summary."""

    def deco(fn: Generator) -> Generator:
        if name in FAMILIES:
            raise ValueError(f"family {name!r} registered twice")
        doc = (fn.__doc__ or "").strip()
        summary = " ".join(doc.split("\n\n")[0].split())  # first paragraph, on one line
        FAMILIES[name] = Family(name=name, generate=fn, ood=ood, summary=summary, vmin=vrange[0], vmax=vrange[1])
        return fn

    return deco


def family_names(ood: bool | None = None) -> list[str]:
    """Registered family names (all, only OpenFWI-style with ``ood=False``, only OOD with ``True``)."""
    return [n for n, f in FAMILIES.items() if ood is None or f.ood == ood]


def get_family(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise InputError(f"unknown family {name!r}; known families: {', '.join(FAMILIES)}") from None


def family_rng(name: str, seed: int, index: int) -> np.random.Generator:
    """The generator that model ``index`` of ``name`` under ``seed`` draws from."""
    if seed < 0 or index < 0:
        raise InputError(f"seed and index must be >= 0, got seed={seed}, index={index}")
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode()), int(index)]))


def make_model(name: str, seed: int, index: int, nz: int = 70, nx: int = 70) -> np.ndarray:
    """Model ``index`` of family ``name`` under ``seed``.

    Args:
        name: a registered family.
        seed: dataset seed (>= 0).
        index: sample index within the family (>= 0).
        nz, nx: model shape in cells (>= 8 each).

    Returns:
        float32 array ``(nz, nx)`` of velocities in m/s within the family's range.
    """
    fam = get_family(name)
    if nz < 8 or nx < 8:
        raise InputError(f"model shape must be at least 8 x 8 cells, got {nz} x {nx}")
    v = fam.generate(family_rng(name, seed, index), int(nz), int(nx))
    return np.clip(np.asarray(v, dtype=np.float64), fam.vmin, fam.vmax).astype(np.float32)


# --------------------------------------------------------------------------- building blocks
def _coords(nz: int, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Depth and lateral coordinates as fractions in [0, 1], shapes ``(nz, 1)`` and ``(1, nx)``."""
    z = np.linspace(0.0, 1.0, nz)[:, None]
    x = np.linspace(0.0, 1.0, nx)[None, :]
    return z, x


def _undulation(rng: np.random.Generator, x: np.ndarray, amplitude: float, n_waves: int) -> np.ndarray:
    """Sum of ``n_waves`` sinusoids in x with total amplitude about ``amplitude`` (fraction of depth)."""
    out = np.zeros_like(x)
    for _ in range(n_waves):
        wavelength = rng.uniform(0.4, 2.0)
        phase = rng.uniform(0, 2 * np.pi)
        out = out + rng.uniform(0.5, 1.0) * np.sin(2 * np.pi * x / wavelength + phase)
    return amplitude * out / max(n_waves, 1)


def _interfaces(rng: np.random.Generator, n_layers: int, zmin: float = 0.08, zmax: float = 0.95) -> np.ndarray:
    """Sorted depths (fractions) of the ``n_layers - 1`` interfaces, at least 4% apart."""
    while True:
        d = np.sort(rng.uniform(zmin, zmax, n_layers - 1))
        if n_layers <= 2 or np.min(np.diff(d)) > 0.04:
            return d


def _velocities(rng: np.random.Generator, n_layers: int, increasing: bool, step: tuple[float, float]) -> np.ndarray:
    """Layer velocities, m/s: increasing with depth by ``step`` (min, max) per layer, or any order."""
    if increasing:
        v = [rng.uniform(VMIN, 2500.0)]
        for _ in range(n_layers - 1):
            v.append(v[-1] + rng.uniform(*step))
        v = np.array(v)
        if v[-1] > VMAX:  # squeeze into range, keeping the order
            v = VMIN + (v - VMIN) * (VMAX - VMIN) / (v[-1] - VMIN)
        return v
    v = [rng.uniform(VMIN, VMAX)]
    for _ in range(n_layers - 1):
        while True:
            c = rng.uniform(VMIN, VMAX)
            if step[0] <= abs(c - v[-1]) <= step[1]:
                v.append(c)
                break
    return np.array(v)


def _layered(depth_of: Callable[[int], np.ndarray], velocities: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Fill layers: cell (z, x) takes the velocity of the number of interfaces above it.

    ``depth_of(k)`` returns interface k's depth (fraction) as an array broadcastable to ``(nz, nx)``.
    """
    count = np.zeros(np.broadcast_shapes(z.shape, depth_of(0).shape), dtype=np.int64)
    for k in range(len(velocities) - 1):
        count += (z >= depth_of(k)).astype(np.int64)
    return velocities[count]


def _fault_shift(rng: np.random.Generator, z: np.ndarray, x: np.ndarray, throw: tuple[float, float]) -> np.ndarray:
    """Vertical offset (fraction of depth) of the hanging wall of one planar fault, else 0."""
    x_top = rng.uniform(0.2, 0.8)
    dip = np.deg2rad(rng.uniform(55.0, 85.0)) * rng.choice([-1.0, 1.0])
    x_fault = x_top + z / np.tan(dip)  # fault trace position at each depth
    t = rng.uniform(*throw) * rng.choice([-1.0, 1.0])
    return np.where(x > x_fault, t, 0.0)


def _smooth(v: np.ndarray, frac: float) -> np.ndarray:
    """Gaussian smoothing with a length of ``frac`` of the model height/width."""
    nz, nx = v.shape
    return gaussian_filter(v, sigma=(frac * nz, frac * nx), mode="nearest")


def _random_field(rng: np.random.Generator, nz: int, nx: int, corr: float) -> np.ndarray:
    """Zero-mean, unit-std Gaussian random field with correlation length ``corr`` (fraction)."""
    f = gaussian_filter(rng.standard_normal((nz, nx)), sigma=(max(corr * nz, 0.5), max(corr * nx, 0.5)), mode="wrap")
    s = f.std()
    return (f - f.mean()) / (s if s > 0 else 1.0)


# --------------------------------------------------------------------------- OpenFWI-style
def _flat(rng: np.random.Generator, nz: int, nx: int, b: bool) -> np.ndarray:
    z, x = _coords(nz, nx)
    n = int(rng.integers(4, 9) if b else rng.integers(2, 5))
    d = _interfaces(rng, n)
    vel = _velocities(rng, n, increasing=not b, step=(300.0, 1500.0) if b else (150.0, 800.0))
    return _layered(lambda k: np.full((1, nx), d[k]), vel, z)


@register_family("flatvel-a")
def flatvel_a(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Flat layers: 2-4 horizontal layers, velocity increasing with depth by 150-800 m/s per layer.

    Top layer 1500-2500 m/s; interfaces at 8-95% of the depth, at least 4% apart; no smoothing.
    """
    return _flat(rng, nz, nx, b=False)


@register_family("flatvel-b")
def flatvel_b(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Flat layers, stronger: 4-8 horizontal layers, velocities in any order, 300-1500 m/s contrasts.

    Velocity inversions (a slower layer under a faster one) occur; range 1500-4500 m/s.
    """
    return _flat(rng, nz, nx, b=True)


def _curve(rng: np.random.Generator, nz: int, nx: int, b: bool) -> np.ndarray:
    z, x = _coords(nz, nx)
    n = int(rng.integers(4, 9) if b else rng.integers(2, 5))
    d = _interfaces(rng, n)
    vel = _velocities(rng, n, increasing=not b, step=(300.0, 1500.0) if b else (150.0, 800.0))
    if b:  # each interface its own shape, amplitude up to 12% of the depth
        shapes = [_undulation(rng, x, rng.uniform(0.03, 0.12), int(rng.integers(1, 4))) for _ in range(n - 1)]
    else:  # conformable: one gentle shape, amplitude up to 6% of the depth
        s = _undulation(rng, x, rng.uniform(0.02, 0.06), int(rng.integers(1, 3)))
        shapes = [s] * (n - 1)
    return _layered(lambda k: d[k] + shapes[k], vel, z)


@register_family("curvevel-a")
def curvevel_a(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Curved layers: 2-4 conformable layers following one sinusoidal shape (amplitude 2-6% of depth,
    wavelengths 0.4-2 model widths), velocity increasing with depth by 150-800 m/s per layer."""
    return _curve(rng, nz, nx, b=False)


@register_family("curvevel-b")
def curvevel_b(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Curved layers, stronger: 4-8 layers, each interface with its own curvature (amplitude 3-12%
    of depth, 1-3 sinusoids), velocities in any order with 300-1500 m/s contrasts."""
    return _curve(rng, nz, nx, b=True)


def _fault(rng: np.random.Generator, nz: int, nx: int, b: bool, curved: bool) -> np.ndarray:
    z, x = _coords(nz, nx)
    n = int(rng.integers(4, 8) if b else rng.integers(3, 6))
    d = _interfaces(rng, n, zmin=0.1, zmax=0.9)
    vel = _velocities(rng, n, increasing=not b, step=(300.0, 1200.0) if b else (150.0, 700.0))
    shape = _undulation(rng, x, rng.uniform(0.02, 0.08 if b else 0.05), int(rng.integers(1, 3))) if curved else 0.0 * x
    shift = _fault_shift(rng, z, x, (0.08, 0.2) if b else (0.03, 0.1))
    if b and rng.uniform() < 0.6:  # a second fault
        shift = shift + _fault_shift(rng, z, x, (0.05, 0.15))
    return _layered(lambda k: d[k] + shape + shift, vel, z)


@register_family("flatfault-a")
def flatfault_a(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Faulted flat layers: 3-5 layers increasing with depth (150-700 m/s steps) cut by one planar
    fault dipping 55-85 degrees with a throw of 3-10% of the depth."""
    return _fault(rng, nz, nx, b=False, curved=False)


@register_family("flatfault-b")
def flatfault_b(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Faulted flat layers, stronger: 4-7 layers in any velocity order (300-1200 m/s contrasts), one
    fault with 8-20% throw and, with probability 0.6, a second fault with 5-15% throw."""
    return _fault(rng, nz, nx, b=True, curved=False)


@register_family("curvefault-a")
def curvefault_a(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Faulted curved layers: as flatfault-a, with conformable sinusoidal layers (amplitude 2-5% of depth)."""
    return _fault(rng, nz, nx, b=False, curved=True)


@register_family("curvefault-b")
def curvefault_b(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Faulted curved layers, stronger: as flatfault-b, with sinusoidal layers (amplitude 2-8% of depth)."""
    return _fault(rng, nz, nx, b=True, curved=True)


def _style(rng: np.random.Generator, nz: int, nx: int, b: bool) -> np.ndarray:
    z, _ = _coords(nz, nx)
    v_top = rng.uniform(1600.0, 2400.0)
    v_bot = rng.uniform(3200.0, 4400.0)
    trend = v_top + (v_bot - v_top) * z ** rng.uniform(0.7, 1.3)
    corr = rng.uniform(0.02, 0.05) if b else rng.uniform(0.08, 0.15)
    amp = rng.uniform(400.0, 800.0) if b else rng.uniform(150.0, 350.0)
    field = _random_field(rng, nz, nx, corr)
    if b:  # add an anisotropic, layer-like texture: long laterally, short in depth
        field = field + 0.7 * gaussian_filter(rng.standard_normal((nz, nx)), sigma=(0.01 * nz + 0.5, 0.2 * nx), mode="wrap") * 3.0
    return trend + amp * field / max(field.std(), 1e-12)


@register_family("style-a")
def style_a(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Smooth texture: depth trend from 1600-2400 to 3200-4400 m/s plus a Gaussian random field with
    a correlation length of 8-15% of the model and 150-350 m/s standard deviation."""
    return _style(rng, nz, nx, b=False)


@register_family("style-b")
def style_b(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Rough texture: the same depth trend plus a 2-5% correlation-length random field and a
    laterally elongated layer-like texture, 400-800 m/s standard deviation."""
    return _style(rng, nz, nx, b=True)


# --------------------------------------------------------------------------- out of distribution
@register_family("marine", ood=True)
def marine(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Marine: a 1500-1530 m/s water layer with a seabed at 10-35% of the depth (undulating by up to
    4%) over sediments compacting from 1550-1900 m/s at the seabed to 2500-4000 m/s at the base,
    with 2-5 thin layers of +-60-200 m/s."""
    z, x = _coords(nz, nx)
    v_water = rng.uniform(1500.0, 1530.0)
    seabed = rng.uniform(0.10, 0.35) + _undulation(rng, x, rng.uniform(0.0, 0.04), 2) + 0.0 * z
    v_sb = rng.uniform(1550.0, 1900.0)
    v_base = rng.uniform(2500.0, 4000.0)
    below = np.clip((z - seabed) / np.maximum(1.0 - seabed, 1e-3), 0.0, 1.0)
    v = v_sb + (v_base - v_sb) * below ** rng.uniform(0.6, 1.0)
    for _ in range(int(rng.integers(2, 6))):
        top = rng.uniform(0.0, 0.9)
        thick = rng.uniform(0.02, 0.08)
        rel = below - top
        v = v + np.where((rel >= 0) & (rel < thick), rng.uniform(60.0, 200.0) * rng.choice([-1.0, 1.0]), 0.0)
    return np.where(z < seabed, v_water, v)


@register_family("salt", ood=True)
def salt(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Salt: a 4400-4500 m/s body (dome-shaped top at 25-50% depth, 25-55% of the width, flanks
    steepening downwards) in 3-6 layers of sediments from 1800-2300 m/s increasing with depth to
    3000-3800 m/s, layers gently curved."""
    z, x = _coords(nz, nx)
    n = int(rng.integers(3, 7))
    d = _interfaces(rng, n)
    vel = np.sort(rng.uniform(1800.0, 3800.0, n))
    vel[0] = min(vel[0], rng.uniform(1800.0, 2300.0))
    shape = _undulation(rng, x, rng.uniform(0.01, 0.04), 2)
    v = _layered(lambda k: d[k] + shape, vel, z)
    xc = rng.uniform(0.3, 0.7)
    half_width = rng.uniform(0.125, 0.275)
    top = rng.uniform(0.25, 0.5)
    bottom = rng.uniform(min(top + 0.25, 0.95), 1.05)
    # width grows with depth below the top: a dome with steepening flanks
    depth_in = np.clip((z - top) / max(bottom - top, 1e-3), 0.0, None)
    width = half_width * np.sqrt(np.clip(depth_in, 0.0, 1.0)) * rng.uniform(1.0, 1.4)
    inside = (z >= top) & (z <= bottom) & (np.abs(x - xc) <= width)
    return np.where(inside, rng.uniform(4400.0, 4500.0), v)


@register_family("gas", ood=True)
def gas(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Gas: gently curved sediments (3-6 layers increasing from 1800-2400 to 3000-4000 m/s) with 1-3
    low-velocity lenses, 15-40% of the width, 3-8% of the depth thick, 300-800 m/s slower than their
    host (never below 1500 m/s), edges smoothed over 1% of the model."""
    z, x = _coords(nz, nx)
    n = int(rng.integers(3, 7))
    d = _interfaces(rng, n)
    vel = np.sort(rng.uniform(1800.0, 4000.0, n))
    vel[0] = min(vel[0], rng.uniform(1800.0, 2400.0))
    shape = _undulation(rng, x, rng.uniform(0.01, 0.05), 2)
    v = _layered(lambda k: d[k] + shape, vel, z)
    drop = np.zeros((nz, nx))
    for _ in range(int(rng.integers(1, 4))):
        xc, zc = rng.uniform(0.15, 0.85), rng.uniform(0.25, 0.85)
        a, c = rng.uniform(0.075, 0.2), rng.uniform(0.015, 0.04)
        inside = ((x - xc) / a) ** 2 + ((z - zc) / c) ** 2 <= 1.0
        drop = np.maximum(drop, np.where(inside, rng.uniform(300.0, 800.0), 0.0))
    return np.maximum(v - _smooth(drop, 0.01), VMIN)


@register_family("gradient", ood=True)
def gradient(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Gradient: a smooth 1-D compaction trend v0 + (v1 - v0) (z / zmax)^p with v0 1500-2000 m/s,
    v1 3000-4500 m/s and p 0.6-1.4, times a mild lateral variation of +-1-4% (correlation 30% of
    the width)."""
    z, _ = _coords(nz, nx)
    v0, v1 = rng.uniform(1500.0, 2000.0), rng.uniform(3000.0, 4500.0)
    trend = v0 + (v1 - v0) * z ** rng.uniform(0.6, 1.4)
    lateral = _random_field(rng, nz, nx, 0.3)
    return trend * (1.0 + rng.uniform(0.01, 0.04) * lateral)


# --------------------------------------------------------------------------- basins (pretraining)
def _strata(rng: np.random.Generator, nz: int, nx: int, top: np.ndarray) -> np.ndarray:
    """Relative velocity perturbation of deformed strata below ``top`` (fraction of depth, ``(1, nx)``).

    A stack of layers 1.5-9% of the depth thick, each 3-14% faster or slower than the trend, is
    folded (1-3 sinusoids, amplitude up to 12% of the depth, growing with depth), cut by 0-3 faults
    (normal or reverse, throws 2-15%, dips 35-85 degrees) and, with probability 0.45, truncated at an
    angular unconformity (older layers tilted 3-20 degrees below it).
    """
    z, x = _coords(nz, nx)
    u = z - top  # stratigraphic depth below the top
    fold = _undulation(rng, x, rng.uniform(0.0, 0.12), int(rng.integers(1, 4)))
    u = u - fold * np.clip(u / 0.5, 0.0, 1.0)
    for _ in range(int(rng.integers(0, 4))):
        x_top = rng.uniform(0.1, 0.9)
        dip = np.deg2rad(rng.uniform(35.0, 85.0)) * rng.choice([-1.0, 1.0])
        throw = rng.uniform(0.02, 0.15) * rng.choice([-1.0, 1.0])
        u = u + np.where(x > x_top + z / np.tan(dip), throw, 0.0)
    if rng.uniform() < 0.45:  # angular unconformity: older, tilted strata below a surface
        z_u = rng.uniform(0.25, 0.7)
        tilt = np.tan(np.deg2rad(rng.uniform(3.0, 20.0))) * rng.choice([-1.0, 1.0]) * nx / nz
        old = u + tilt * (x - 0.5) + rng.uniform(0.0, 0.3)
        u = np.where(z - top > z_u, old, u)
    thick = rng.uniform(0.015, 0.09, 80)
    edges = np.concatenate([[-1.0], np.cumsum(thick) - 0.3])
    amp = rng.uniform(0.03, 0.14)
    pert = rng.normal(0.0, amp, edges.size) * rng.choice([0.0, 1.0], edges.size, p=[0.25, 0.75])
    layer = np.clip(np.searchsorted(edges, u) - 1, 0, edges.size - 1)
    return pert[layer]


def _basin(rng: np.random.Generator, nz: int, nx: int, marine: bool) -> np.ndarray:
    z, x = _coords(nz, nx)
    if marine:
        seabed = rng.uniform(0.03, 0.45) + _undulation(rng, x, rng.uniform(0.0, 0.03), 2)
        v_water = rng.uniform(1480.0, 1540.0)
        hard = rng.uniform() < 0.2
    else:
        seabed = np.zeros_like(x)
        hard = rng.uniform() < 0.1
    v_top = rng.uniform(2500.0, 3800.0) if hard else rng.uniform(1550.0, 2300.0)
    v_deep = rng.uniform(max(v_top + 400.0, 3000.0), 6000.0)
    length = rng.uniform(0.25, 1.5)  # compaction length, fraction of the model depth
    below = np.clip(z - seabed, 0.0, None)
    trend = v_top + (v_deep - v_top) * (1.0 - np.exp(-below / length)) / (1.0 - np.exp(-1.0 / length))
    v = trend * (1.0 + _strata(rng, nz, nx, seabed))
    if rng.uniform() < 0.2:  # a fast body (salt or carbonate): dome-like, 4400-6000 m/s
        xc, top = rng.uniform(0.2, 0.8), rng.uniform(0.3, 0.7)
        w = rng.uniform(0.1, 0.3)
        shape = w * np.sqrt(np.clip((z - top) / 0.3, 0.0, 1.0))
        v = np.where((z >= top) & (np.abs(x - xc) <= shape), rng.uniform(4400.0, 6000.0), v)
    if rng.uniform() < 0.2:  # a gas-charged lens, 10-30% slower
        xc, zc = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)
        inside = ((x - xc) / rng.uniform(0.08, 0.25)) ** 2 + ((z - zc) / rng.uniform(0.015, 0.05)) ** 2 <= 1.0
        v = np.where(inside & (z > seabed), v * (1.0 - rng.uniform(0.1, 0.3)), v)
    v = gaussian_filter(v, sigma=rng.uniform(0.0, 0.8), mode="nearest")
    if marine:
        v = np.where(z < seabed, v_water, v)
    return v


@register_family("basin-land", vrange=BASIN_RANGE)
def basin_land(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Land basin: a compaction trend from 1550-2300 m/s at the surface (or 2500-3800 m/s rock, 10%)
    to 3000-6000 m/s, compaction length 25-150% of the depth, times deformed strata (1.5-9% thick
    layers of +-3-14%, folded, faulted, unconformities), with a fast body (20%) and a gas lens (20%).

    Pretraining family: real basins' features (compaction, folds, normal and reverse faults,
    unconformities, velocities to 6000 m/s) at any scale, so a survey read at any frequency finds
    its kind of geology in the training data.
    """
    return _basin(rng, nz, nx, marine=False)


@register_family("basin-marine", vrange=BASIN_RANGE)
def basin_marine(rng: np.random.Generator, nz: int, nx: int) -> np.ndarray:
    """Marine basin: 1480-1540 m/s water to a seabed at 3-45% of the depth over the basin-land recipe;
    soft (1550-2300 m/s) or hard (2500-3800 m/s, 20%) seabed."""
    return _basin(rng, nz, nx, marine=True)


#: The OpenFWI-style families, simpler (A) and harder (B).
OPENFWI_A = ("flatvel-a", "curvevel-a", "flatfault-a", "curvefault-a", "style-a")
OPENFWI_B = ("flatvel-b", "curvevel-b", "flatfault-b", "curvefault-b", "style-b")
#: Families with real basins' features, for pretraining.
BASIN_FAMILIES = ("basin-land", "basin-marine")
#: The shipped foundation network's pretraining families.
PRETRAIN_FAMILIES = OPENFWI_A + OPENFWI_B + BASIN_FAMILIES
#: Held out of pretraining (out-of-distribution tests).
OOD_FAMILIES = ("marine", "salt", "gas", "gradient")
