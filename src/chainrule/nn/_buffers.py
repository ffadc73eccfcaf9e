"""Result arrays that the training loop may reuse from one step to the next.

Outside training every call allocates its results, so an array a user got
from ``forward``/``backward`` is never overwritten by a later call. While the
Model trains it sets ``reuse_buffers`` on its layers, loss and metric; then
each result is written into the same array every step (``out=``), and a
training step allocates nothing.
"""

from __future__ import annotations

import threading

import numpy as np


class Buffered:
    """Mixin giving ``_buffer`` and ``_gradient_buffer`` to layers, losses and metrics."""

    #: set by the Model for the duration of ``train``
    reuse_buffers: bool = False

    def _buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """An uninitialised array for the result ``name``: fresh, or last step's when reusing."""
        if not self.reuse_buffers:
            return np.empty(shape, dtype)
        # Keyed by shape too: the last, smaller batch of an epoch keeps its own arrays.
        key = (name, shape, dtype)
        try:
            return self._buffers[key]
        except AttributeError:
            self._buffers = {}
        except KeyError:
            pass
        buffer = self._buffers[key] = np.empty(shape, dtype)
        return buffer

    def _constant(self, value: float, shape: tuple, dtype) -> np.ndarray:
        """A read-only array filled with ``value``, kept for reuse (it is never written).

        A column of ones turns "sum over each row" into a matrix product, which BLAS
        does several times faster than a reduction along short rows.
        """
        key = (value, shape, dtype)
        try:
            return self._constants[key]
        except AttributeError:
            self._constants = {}
        except KeyError:
            pass
        array = self._constants[key] = np.full(shape, value, dtype)
        array.flags.writeable = False
        return array

    def _gradient_buffer(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """The array for parameter gradient ``name`` (e.g. ``"dweights"``).

        While reusing, the current attribute is kept whenever it fits, because an
        optimizer may have made it a view into one flat gradient buffer.
        """
        if self.reuse_buffers:
            current = self.__dict__.get(name)
            if current is not None and current.shape == shape and current.dtype == dtype:
                return current
        return np.empty(shape, dtype)


class _ParameterMemory:
    """Hands out parameter buffers back to back from large blocks, one per dtype.

    Layers built one after another (``Dense(2, 64)``, ``Dense(64, 3)``) then hold
    adjacent memory, and an optimizer can update all their parameters as one flat
    array — in place, so an array taken from ``layer.weights`` always stays the
    parameter. Untouched block pages are never committed by the OS, so a block's
    unused tail costs no memory; a block is freed with the last layer using it.
    """

    BLOCK = 1 << 20  # elements

    def __init__(self):
        self.blocks: dict = {}  # dtype -> (block, used)
        self.lock = threading.Lock()  # two threads building layers must not share memory

    def take(self, size: int, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        with self.lock:
            block, used = self.blocks.get(dtype, (None, 0))
            if block is None or used + size > block.size:
                block, used = np.empty(max(size, self.BLOCK), dtype), 0
            self.blocks[dtype] = (block, used + size)
            return block[used:used + size]


parameter_memory = _ParameterMemory()
