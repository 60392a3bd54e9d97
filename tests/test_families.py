import numpy as np
import pytest

from hybridfwi.errors import InputError
from hybridfwi.synth.families import (BASIN_FAMILIES, FAMILIES, OOD_FAMILIES, PRETRAIN_FAMILIES, VMAX, VMIN, family_names,
                                      get_family, make_model)

ALL = list(FAMILIES)


def test_registry_has_the_promised_families():
    openfwi = {f"{k}-{ab}" for k in ("flatvel", "curvevel", "flatfault", "curvefault", "style") for ab in "ab"}
    assert set(family_names(ood=False)) == openfwi | {"basin-land", "basin-marine"} == set(PRETRAIN_FAMILIES)
    assert set(family_names(ood=True)) == {"marine", "salt", "gas", "gradient"} == set(OOD_FAMILIES)
    for fam in FAMILIES.values():
        assert len(fam.summary) > 40, f"{fam.name} needs a documented recipe"
        if fam.name in BASIN_FAMILIES:
            assert (fam.vmin, fam.vmax) == (1450.0, 6000.0)
        else:
            assert (fam.vmin, fam.vmax) == (VMIN, VMAX)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("shape", [(70, 70), (33, 101), (120, 48)])
def test_shape_finite_bounds(name, shape):
    for index in range(3):
        v = make_model(name, 7, index, *shape)
        assert v.shape == shape and v.dtype == np.float32
        assert np.all(np.isfinite(v))
        fam = get_family(name)
        assert v.min() >= fam.vmin and v.max() <= fam.vmax
        assert v.std() > 0 or name.startswith("flatvel"), f"{name} made a constant model"


@pytest.mark.parametrize("name", ALL)
def test_deterministic_per_seed_and_index(name):
    a = make_model(name, 3, 11)
    # drawing other models in between (another batch, another family) changes nothing
    for other in ALL:
        make_model(other, 3, 12)
    b = make_model(name, 3, 11)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, make_model(name, 3, 12))
    assert not np.array_equal(a, make_model(name, 4, 11))


def test_b_recipes_are_rougher_than_a():
    def roughness(name):
        return np.mean([np.abs(np.diff(make_model(name, 0, i), axis=0)).mean() for i in range(20)])

    for base in ("flatvel", "curvevel", "flatfault", "curvefault", "style"):
        assert roughness(f"{base}-b") > roughness(f"{base}-a"), base


def test_flatvel_a_increases_with_depth_and_is_laterally_constant():
    for i in range(10):
        v = make_model("flatvel-a", 0, i)
        assert np.all(np.diff(v[:, 0]) >= 0)
        assert np.all(v == v[:, :1])


def test_marine_has_a_water_layer_on_top():
    for i in range(10):
        v = make_model("marine", 0, i, 100, 80)
        assert np.all((v[0] >= 1500) & (v[0] <= 1530))
        seabed = np.argmax(v > 1535, axis=0) / 99.0
        assert np.all((seabed >= 0.08) & (seabed <= 0.42))


def test_salt_body_is_fast():
    for i in range(10):
        v = make_model("salt", 0, i)
        assert (v >= 4400).sum() > 0.02 * v.size


def test_same_geology_at_finer_resolution():
    coarse = make_model("curvefault-a", 5, 2, 35, 35)
    fine = make_model("curvefault-a", 5, 2, 69, 69)
    # sizes are fractions of the model: every other fine cell lies on a coarse cell
    assert np.mean(fine[::2, ::2] == coarse) > 0.9


def test_unknown_family_and_bad_shape():
    with pytest.raises(InputError, match="unknown family"):
        make_model("granite", 0, 0)
    with pytest.raises(InputError):
        make_model("salt", 0, 0, 4, 70)


def test_basin_families_cover_the_wider_range_and_marine_has_water():
    land = [make_model("basin-land", 0, i, 100, 80) for i in range(12)]
    sea = [make_model("basin-marine", 0, i, 100, 80) for i in range(12)]
    assert max(v.max() for v in land + sea) > 4500.0  # beyond the OpenFWI range
    for v in land + sea:
        assert v[70:].mean() > v[:30].mean()  # compaction: faster with depth
    for v in sea:
        water = v[0, 0]
        assert 1480.0 <= water <= 1540.0 and np.all(v[0] == water)
        seabed = np.argmax(v != water, axis=0) / 99.0
        assert np.all((seabed > 0.0) & (seabed <= 0.5))
    for v in land:
        assert v[0].std() > 0 or v[0, 0] > 1540.0  # no water layer on land
