"""Datasets: the book's toy problems, and real small data.

``spiral_data``, ``vertical_data`` and ``sine_data`` follow the ``nnfs``
package's algorithms and signatures. With ``rng=None`` they draw from NumPy's
global state in the same order, so after the same ``np.random.seed(s)`` they
return the same arrays as ``nnfs.datasets``.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_nonnegative, check_positive_int
from ._random import as_generator, standard_normal


def spiral_data(samples: int, classes: int, rng=None):
    """Interleaved spiral arms, one per class (Karpathy's CS231n toy data).

    Returns
    -------
    X : float64 array (samples·classes, 2)
    y : uint8 array (samples·classes,)
    """
    rng = as_generator(rng)

    def arm(class_number: int, samples: int) -> np.ndarray:
        r = np.linspace(0.0, 1, samples)
        t = np.linspace(class_number * 4, (class_number + 1) * 4, samples)
        t = t + standard_normal(rng, samples) * 0.2
        return np.c_[r * np.sin(t * 2.5), r * np.cos(t * 2.5)]

    return _by_class(samples, classes, arm)


def vertical_data(samples: int, classes: int, rng=None):
    """Gaussian blobs side by side, one per class.

    Returns
    -------
    X : float64 array (samples·classes, 2)
    y : uint8 array (samples·classes,)
    """
    rng = as_generator(rng)

    def blob(class_number: int, samples: int) -> np.ndarray:
        x0 = standard_normal(rng, samples) * 0.1 + class_number / 3
        x1 = standard_normal(rng, samples) * 0.1 + 0.5
        return np.c_[x0, x1]

    return _by_class(samples, classes, blob)


def _by_class(samples: int, classes: int, points):
    """Stack ``points(class_number, samples)`` for each class in turn, with its labels."""
    samples = check_positive_int("samples", samples)
    classes = check_positive_int("classes", classes)
    X = np.zeros((samples * classes, 2))
    y = np.zeros(samples * classes, dtype="uint8")
    for class_number in range(classes):
        rows = slice(samples * class_number, samples * (class_number + 1))
        X[rows] = points(class_number, samples)
        y[rows] = class_number
    return X, y


def circle_data(samples: int, noise: float = 0.0, rng=None):
    """A disc inside a ring (TensorFlow Playground's "circle", in the unit square).

    Class 0 lies within radius 0.5 of the origin, class 1 between radii 0.7 and 1.

    Parameters
    ----------
    samples : int
        Points per class.
    noise : float
        Standard deviation of Gaussian jitter added to every coordinate; the
        points under the jitter are the same for every ``noise``.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    X : float64 array (2·samples, 2)
    y : uint8 array (2·samples,)
    """
    noise = check_nonnegative("noise", noise)
    rng = as_generator(rng)

    def ring(class_number: int, samples: int) -> np.ndarray:
        low, high = ((0.0, 0.5), (0.7, 1.0))[class_number]
        radius = _uniform(rng, low, high, samples)
        angle = _uniform(rng, 0.0, 2 * np.pi, samples)
        points = np.c_[radius * np.sin(angle), radius * np.cos(angle)]
        return points + noise * standard_normal(rng, samples, 2)

    return _by_class(samples, 2, ring)


def xor_data(samples: int, noise: float = 0.0, rng=None):
    """Four quadrants (TensorFlow Playground's "xor"): the class is whether x₁·x₂ < 0.

    Class 0 fills the quadrants where x₁ and x₂ share a sign, class 1 the other
    two; coordinates keep 0.05 away from the axes so the classes touch nowhere.

    Parameters
    ----------
    samples : int
        Points per class.
    noise : float
        Standard deviation of Gaussian jitter added to every coordinate.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    X : float64 array (2·samples, 2)
    y : uint8 array (2·samples,)
    """
    noise = check_nonnegative("noise", noise)
    rng = as_generator(rng)

    def quadrants(class_number: int, samples: int) -> np.ndarray:
        magnitudes = _uniform(rng, 0.05, 1.0, (samples, 2))
        signs = np.where(_uniform(rng, 0.0, 1.0, samples) < 0.5, -1.0, 1.0)
        # The same sign on both axes for class 0, opposite signs for class 1.
        points = magnitudes * np.c_[signs, signs * (1 - 2 * class_number)]
        return points + noise * standard_normal(rng, samples, 2)

    return _by_class(samples, 2, quadrants)


def gaussian_data(samples: int, noise: float = 0.0, rng=None):
    """Two Gaussian blobs (TensorFlow Playground's "gauss"): an almost linear problem.

    Class 0 is centred at (−0.5, −0.5), class 1 at (0.5, 0.5), each with
    standard deviation 0.25 per coordinate.

    Parameters
    ----------
    samples : int
        Points per class.
    noise : float
        Standard deviation of extra Gaussian jitter added to every coordinate.
    rng : numpy.random.Generator, int or None

    Returns
    -------
    X : float64 array (2·samples, 2)
    y : uint8 array (2·samples,)
    """
    noise = check_nonnegative("noise", noise)
    rng = as_generator(rng)

    def blob(class_number: int, samples: int) -> np.ndarray:
        centre = -0.5 if class_number == 0 else 0.5
        points = centre + 0.25 * standard_normal(rng, samples, 2)
        return points + noise * standard_normal(rng, samples, 2)

    return _by_class(samples, 2, blob)


def _uniform(rng, low: float, high: float, size) -> np.ndarray:
    """Uniform draws in [low, high): ``np.random.uniform`` when ``rng`` is None."""
    if rng is None:
        return np.random.uniform(low, high, size)
    return rng.uniform(low, high, size)


def sine_data(samples: int = 1000):
    """One period of a sine wave on [0, 1): a regression toy problem.

    Returns
    -------
    X : float64 array (samples, 1)
    y : float64 array (samples, 1)
    """
    samples = check_positive_int("samples", samples)
    X = np.arange(samples).reshape(-1, 1) / samples
    y = np.sin(2 * np.pi * X).reshape(-1, 1)
    return X, y


def load_digits(*, raw: bool = False):
    """scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes).

    Needs scikit-learn (``pip install chainrule[data]``); nothing is downloaded.

    Parameters
    ----------
    raw : bool
        True: the pixel intensities 0–16 as scikit-learn gives them, for a model that
        scales its inputs itself (``chainrule train`` does).

    Returns
    -------
    X : float32 array (1797, 64), pixel intensities scaled to [0, 1] (0–16 if ``raw``)
    y : int64 array (1797,), the digit 0–9
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as exc:
        raise ImportError("load_digits needs scikit-learn: pip install 'chainrule[data]'") from exc
    digits = sklearn_load_digits()
    X = digits.data if raw else digits.data / 16.0
    return X.astype(np.float32), digits.target.astype(np.int64)


FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# SHA-256 of the official files; a download that does not match is refused.
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte.gz":
        "08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
    "train-labels-idx1-ubyte.gz":
        "b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
    "t10k-images-idx3-ubyte.gz": "78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
    "t10k-labels-idx1-ubyte.gz": "42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
}


def load_fashion_mnist(cache_dir=None, *, raw: bool = False):
    """Zalando's Fashion-MNIST: 60,000 + 10,000 28×28 grey images of clothes, 10 classes.

    Downloaded once from the dataset's official address into ``cache_dir``
    (default ``$CHAINRULE_DATA`` or ``~/.cache/chainrule``), checked against
    SHA-256 sums, then read from there. ``raw=True`` keeps the pixel values 0–255,
    for a model that scales its inputs itself (``chainrule train`` does).

    Returns
    -------
    X : float32 array (60000, 784), pixels scaled to [-1, 1] as in the book (0–255 if
        ``raw``)
    y : int64 array (60000,)
    X_test : float32 array (10000, 784)
    y_test : int64 array (10000,)
    """
    import gzip

    folder = _fashion_cache(cache_dir)
    arrays = []
    for name, sha256 in FASHION_MNIST_FILES.items():
        path = _fetch(name, sha256, folder)
        with gzip.open(path, "rb") as f:
            arrays.append(read_idx(f.read()))
    train_images, train_labels, test_images, test_labels = arrays

    def scale(images):
        images = images.reshape(len(images), -1).astype(np.float32)
        # The book's scaling: centre the 0..255 pixels on 0, range [-1, 1].
        return images if raw else (images - 127.5) / 127.5

    return (scale(train_images), train_labels.astype(np.int64),
            scale(test_images), test_labels.astype(np.int64))


def read_idx(data: bytes) -> np.ndarray:
    """Parse an IDX file (the MNIST format): a magic number, big-endian sizes, then data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError("not an IDX file: it must start with two zero bytes")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if data[2] not in dtypes:
        raise ValueError(f"IDX data type code {data[2]:#x} is unknown")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError("IDX file is truncated inside its header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(dtypes[data[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"IDX file declares shape {shape} ({expected} bytes of data) but holds "
                         f"{len(data) - header} bytes")
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def _fashion_cache(cache_dir):
    import os
    from pathlib import Path

    if cache_dir is None:
        cache_dir = os.environ.get("CHAINRULE_DATA") or Path.home() / ".cache" / "chainrule"
    folder = Path(cache_dir) / "fashion-mnist"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sha256(path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(name: str, sha256: str, folder):
    """Return the path of ``name`` in ``folder``, downloading and verifying it if needed."""
    import urllib.error
    import urllib.request

    from .io import atomic_write

    path = folder / name
    if path.exists() and _sha256(path) == sha256:
        return path
    url = FASHION_MNIST_URL + name
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            atomic_write(path, lambda f: _copy(response, f))
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise ConnectionError(
            f"could not download Fashion-MNIST file {url} ({exc}). Are you offline? You can "
            f"also download the four files by hand into {folder}"
        ) from exc
    actual = _sha256(path)
    if actual != sha256:
        path.unlink()
        raise ValueError(f"{name} from {url} is corrupted: its SHA-256 is {actual}, "
                         f"expected {sha256}; the file was removed, try again")
    return path


def _copy(source, destination) -> None:
    for block in iter(lambda: source.read(1 << 20), b""):
        destination.write(block)
