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


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(">u1" if code == 0x08 else ">i4").tobytes()


def test_read_idx_parses_images_and_labels():
    from chainrule.datasets import read_idx

    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(idx_bytes(images)), images)
    ints = np.array([1, -2, 300])
    np.testing.assert_array_equal(read_idx(idx_bytes(ints, 0x0C)), ints)
    with pytest.raises(ValueError, match="declares shape"):
        read_idx(idx_bytes(images)[:-1])
    with pytest.raises(ValueError, match="two zero bytes"):
        read_idx(b"\x01\x00\x08\x01")


@pytest.fixture
def fake_fashion(tmp_path, monkeypatch):
    """Tiny IDX files in a local folder, served through a file:// URL."""
    import gzip
    import hashlib

    from chainrule import datasets

    source = tmp_path / "source"
    source.mkdir()
    rng = np.random.default_rng(0)
    contents = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(6) % 10,
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (2, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": np.array([3, 9]),
    }
    sums = {}
    for name, array in contents.items():
        blob = gzip.compress(idx_bytes(array))
        (source / name).write_bytes(blob)
        sums[name] = hashlib.sha256(blob).hexdigest()
    monkeypatch.setattr(datasets, "FASHION_MNIST_URL", source.as_uri() + "/")
    monkeypatch.setattr(datasets, "FASHION_MNIST_FILES", sums)
    return source, contents


def test_fashion_mnist_downloads_verifies_and_caches(tmp_path, fake_fashion):
    from chainrule.datasets import load_fashion_mnist

    source, contents = fake_fashion
    X, y, X_test, _ = load_fashion_mnist(cache_dir=tmp_path / "cache")
    assert X.shape == (6, 784) and X.dtype == np.float32
    assert X_test.shape == (2, 784)
    np.testing.assert_array_equal(y, contents["train-labels-idx1-ubyte.gz"])
    np.testing.assert_allclose(X[0], (contents["train-images-idx3-ubyte.gz"][0].ravel() - 127.5)
                               / 127.5, rtol=1e-6)
    assert X.min() >= -1 and X.max() <= 1
    for name in contents:  # second call reads the cache, not the source
        (source / name).unlink()
    X2, *_ = load_fashion_mnist(cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(X, X2)


def test_fashion_mnist_refuses_a_corrupted_download(tmp_path, fake_fashion):
    from chainrule.datasets import load_fashion_mnist

    source, _ = fake_fashion
    (source / "train-labels-idx1-ubyte.gz").write_bytes(b"tampered")
    with pytest.raises(ValueError, match="corrupted: its SHA-256"):
        load_fashion_mnist(cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "fashion-mnist" / "train-labels-idx1-ubyte.gz").exists()


def test_fashion_mnist_offline_says_so(tmp_path, monkeypatch):
    from chainrule import datasets

    monkeypatch.setattr(datasets, "FASHION_MNIST_URL", "http://127.0.0.1:9/")
    with pytest.raises(ConnectionError, match="Are you offline"):
        datasets.load_fashion_mnist(cache_dir=tmp_path)


def test_load_digits():
    pytest.importorskip("sklearn")
    from chainrule.datasets import load_digits

    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert X.min() == 0 and X.max() == 1
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
