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

    from chainrule.datasets import _real as datasets  # where the download reads its URL

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
    from chainrule.datasets import _real as datasets  # where the download reads its URL

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


# -- the playground's generators: circle, xor, gaussian ------------------------------------


@pytest.fixture(params=["circle_data", "xor_data", "gaussian_data"])
def two_class(request):
    from chainrule import datasets

    return getattr(datasets, request.param)


def test_two_class_generators_shapes_and_labels(two_class):
    X, y = two_class(40, rng=0)
    assert X.shape == (80, 2) and X.dtype == np.float64
    assert y.dtype == np.uint8
    np.testing.assert_array_equal(y, np.repeat([0, 1], 40))


def test_circle_geometry():
    from chainrule.datasets import circle_data

    X, y = circle_data(200, rng=1)
    radii = np.hypot(X[:, 0], X[:, 1])
    assert radii[y == 0].max() <= 0.5 and radii[y == 1].min() >= 0.7
    assert radii.max() <= 1.0


def test_xor_geometry():
    from chainrule.datasets import xor_data

    X, y = xor_data(200, rng=2)
    product = X[:, 0] * X[:, 1]
    assert np.all(product[y == 0] > 0) and np.all(product[y == 1] < 0)
    assert np.abs(X).min() >= 0.05 and np.abs(X).max() <= 1.0
    # Both quadrants of each class are populated.
    assert len(np.unique(np.sign(X[y == 0, 0]))) == 2


def test_gaussian_geometry():
    from chainrule.datasets import gaussian_data

    X, y = gaussian_data(2000, rng=3)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-0.5, -0.5], atol=0.03)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [0.5, 0.5], atol=0.03)
    np.testing.assert_allclose(X[y == 1].std(axis=0), [0.25, 0.25], atol=0.02)


def test_noise_jitters_the_same_points(two_class):
    """The points under the jitter do not depend on noise: more noise, same data, blurred."""
    X0, y0 = two_class(500, noise=0.0, rng=4)
    X1, y1 = two_class(500, noise=0.1, rng=4)
    np.testing.assert_array_equal(y0, y1)
    jitter = X1 - X0
    assert 0.09 < jitter.std() < 0.11
    assert abs(jitter.mean()) < 0.01


def test_two_class_generators_with_the_global_state(two_class):
    np.random.seed(5)
    a = two_class(30, noise=0.05)
    np.random.seed(5)
    b = two_class(30, noise=0.05)
    np.testing.assert_array_equal(a[0], b[0])
    c = two_class(30, noise=0.05, rng=5)  # a Generator draws differently from the legacy state
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        pytest.param({"samples": 0}, ValueError, "samples", id="zero-samples"),
        pytest.param({"samples": 10, "noise": -0.1}, ValueError, "noise", id="negative-noise"),
        pytest.param({"samples": 10, "noise": float("nan")}, ValueError, "noise", id="nan-noise"),
        pytest.param({"samples": 10, "noise": "a"}, TypeError, "noise", id="text-noise"),
        pytest.param({"samples": 10, "rng": "seed"}, TypeError, "rng", id="bad-rng"),
    ],
)
def test_two_class_generators_refuse_bad_arguments(two_class, kwargs, error, match):
    with pytest.raises(error, match=match):
        two_class(**kwargs)


def test_fashion_mnist_is_its_four_published_files():
    # Zalando's Fashion-MNIST: training and test images and labels, each checked by SHA-256.
    from chainrule.datasets import FASHION_MNIST_FILES

    assert sorted(FASHION_MNIST_FILES) == sorted(
        f"{part}-{kind}-idx{dims}-ubyte.gz" for part in ("train", "t10k")
        for kind, dims in (("images", 3), ("labels", 1)))
    assert all(len(digest) == 64 and int(digest, 16) >= 0
               for digest in FASHION_MNIST_FILES.values())


@pytest.mark.parametrize("code, dtype", [(0x08, ">u1"), (0x09, ">i1"), (0x0B, ">i2"),
                                         (0x0C, ">i4"), (0x0D, ">f4"), (0x0E, ">f8")])
def test_read_idx_reads_every_type_of_the_format(code, dtype):
    # The IDX format's six type codes (LeCun's MNIST page), big-endian, any rank, a scalar too.
    from chainrule.datasets import read_idx

    values = np.array([[0, 1, 2], [3, -4, 5]]) if dtype != ">u1" else np.arange(6).reshape(2, 3)
    for array in (values.astype(dtype), np.array(values[0, 1], dtype=dtype)):
        header = bytes([0, 0, code, array.ndim]) + b"".join(
            int(n).to_bytes(4, "big") for n in array.shape)
        read = read_idx(header + array.tobytes())
        assert read.dtype == np.dtype(dtype).newbyteorder("=")
        np.testing.assert_array_equal(read, array)


def test_an_idx_file_cut_after_its_magic_number_is_named_as_cut():
    # Four bytes are a whole magic number (a 0-dimensional array of bytes): the file is an
    # IDX file whose value is missing, not "not an IDX file".
    from chainrule.datasets import read_idx

    with pytest.raises(ValueError, match=r"declares shape \(\) \(1 bytes of data\) but holds 0"):
        read_idx(bytes([0, 0, 0x08, 0]))
    assert read_idx(bytes([0, 0, 0x08, 0, 7])) == 7
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(bytes([0, 0, 0x08]))
