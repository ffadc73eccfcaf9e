import numpy as np
import pytest

from chainrule.datasets import sine_data, spiral_data, vertical_data

nnfs_datasets = pytest.importorskip("nnfs.datasets")


@pytest.mark.parametrize("seed", [0, 1, 42])
@pytest.mark.parametrize("samples, classes", [(100, 3), (7, 1), (1, 5)])
@pytest.mark.parametrize("name", ["spiral_data", "vertical_data"])
def test_same_arrays_as_the_nnfs_package(name, samples, classes, seed):
    np.random.seed(seed)
    X, y = globals()[name](samples, classes)
    after_ours = np.random.rand()
    np.random.seed(seed)
    X_ref, y_ref = getattr(nnfs_datasets, name)(samples, classes)
    after_theirs = np.random.rand()
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert X.dtype == X_ref.dtype and y.dtype == y_ref.dtype
    assert after_ours == after_theirs  # the global state advanced the same way


@pytest.mark.parametrize("samples", [1, 10, 1000])
def test_sine_matches_the_nnfs_package(samples):
    X, y = sine_data(samples)
    X_ref, y_ref = nnfs_datasets.sine_data(samples)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_array_equal(y, y_ref)
    assert sine_data()[0].shape == (1000, 1)


@pytest.mark.parametrize("make", [spiral_data, vertical_data])
def test_rng_gives_reproducible_data_without_touching_the_global_state(make):
    np.random.seed(3)
    before = np.random.get_state()[1].copy()
    a = make(50, 3, rng=np.random.default_rng(9))
    b = make(50, 3, rng=9)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    c = make(50, 3, rng=10)
    assert not np.array_equal(a[0], c[0])


def test_spiral_labels_and_geometry():
    X, y = spiral_data(100, 3, rng=0)
    assert X.shape == (300, 2) and y.shape == (300,)
    np.testing.assert_array_equal(np.bincount(y), [100, 100, 100])
    radii = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radii[:100], np.linspace(0, 1, 100))


@pytest.mark.parametrize(
    "args, error",
    [
        pytest.param((0, 3), ValueError, id="zero-samples"),
        pytest.param((10, -1), ValueError, id="negative-classes"),
        pytest.param((10.5, 3), TypeError, id="float-samples"),
    ],
)
def test_bad_sizes_are_refused(args, error):
    with pytest.raises(error):
        spiral_data(*args)


def test_bad_rng_is_refused():
    with pytest.raises(TypeError, match="rng must be"):
        spiral_data(10, 2, rng="seed")
