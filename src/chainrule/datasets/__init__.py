"""Data: the book's generated datasets and the small real ones.

``spiral_data``, ``vertical_data`` and ``sine_data`` draw the book's data (with the
book's global random state when no ``rng`` is given); ``load_digits`` and
``load_fashion_mnist`` read bundled or cached real data.

May import: ``files`` (to cache a download atomically) and the ground floor.
"""

from ._generated import circle_data, gaussian_data, sine_data, spiral_data, vertical_data, xor_data
from ._real import (
    FASHION_MNIST_FILES,
    FASHION_MNIST_URL,
    load_digits,
    load_fashion_mnist,
    read_idx,
)

__all__ = [
    "FASHION_MNIST_FILES", "FASHION_MNIST_URL", "circle_data", "gaussian_data",
    "load_digits", "load_fashion_mnist", "read_idx", "sine_data", "spiral_data",
    "vertical_data", "xor_data"
]
