"""Real small data: scikit-learn's bundled digits, and Fashion-MNIST (downloaded once,
checked against its SHA-256 and cached)."""

from __future__ import annotations

import numpy as np


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
    X : float32 array (1797, 64)
        Pixel intensities scaled to [0, 1] (0–16 if ``raw``).
    y : int64 array (1797,)
        The digit, 0–9.
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError as exc:
        raise ImportError("load_digits needs scikit-learn: pip install 'chainrule[data]'") from exc
    digits = sklearn_load_digits()
    X = digits.data if raw else digits.data / 16.0
    return X.astype(np.float32), digits.target.astype(np.int64)


#: Where :func:`load_fashion_mnist` downloads the four files from.
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
#: The four official files, each with its SHA-256: a download that does not match is refused.
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

    Parameters
    ----------
    cache_dir : str or path, optional
        The folder the files are kept in (under ``fashion-mnist/``).
    raw : bool
        True: the pixel values 0–255 as in the files.

    Returns
    -------
    X : float32 array (60000, 784)
        The training images, pixels scaled to [-1, 1] as in the book (0–255 if ``raw``).
    y : int64 array (60000,)
        Their classes, 0–9.
    X_test : float32 array (10000, 784)
        The test images, scaled as ``X``.
    y_test : int64 array (10000,)
        Their classes.
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

    from ..files import atomic_write

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
