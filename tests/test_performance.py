"""Performance properties that do not depend on timing: allocation and aliasing.

Speed itself is measured by the benchmark suite (``benchmarks/run.py``), never here.
"""

import tracemalloc

import numpy as np
import pytest

from chainrule import (
    Adam,
    Callback,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    Model,
    ReLU,
    Softmax,
)


class EpochMemory(Callback):
    """Records, per epoch, the peak memory above the epoch's start."""

    def __init__(self):
        self.extra_peaks = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()

    def on_epoch_end(self, epoch, logs=None):
        self.extra_peaks.append(tracemalloc.get_traced_memory()[1] - self.start)


class Measured(Model):
    def train(self, *args, **kwargs):
        return super().train(*args, callbacks=[self.memory], **kwargs)


def model(n_features=4, hidden=64, classes=3):
    m = Measured([Dense(n_features, hidden, init="he", rng=0), ReLU(), Dropout(0.1, rng=1),
                  Dense(hidden, classes, rng=2), Softmax()])
    m.set(loss=CategoricalCrossentropy(), optimizer=Adam(1e-3))
    m.memory = EpochMemory()
    return m


def data(n, n_features=4, classes=3):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, n_features)).astype(np.float32), rng.integers(0, classes, n)


# NumPy's broadcasting ufuncs (adding the bias row, subtracting the row maximum) use an
# internal iteration buffer of 8192 elements, whatever the array sizes: a fixed ~33 KiB
# that is no array of ours. Anything batch-sized is far larger than this bound.
FIXED_UFUNC_BUFFER = 40 * 1024


def test_full_batch_steps_allocate_no_arrays():
    X, y = data(16384)  # every batch-sized array is at least 16384 × 4 bytes = 64 KiB
    m = model()
    tracemalloc.start()
    try:
        m.train(X, y, epochs=20, print_every=None, progress=False)
    finally:
        tracemalloc.stop()
    steady = m.memory.extra_peaks[2:]  # the first epochs create the reused buffers
    assert max(steady) < FIXED_UFUNC_BUFFER, steady
    assert max(m.memory.extra_peaks[:2]) > 64 * 16384  # the measurement does see the buffers


def test_minibatch_steps_allocate_only_the_epochs_permutation():
    X, y = data(4096)
    m = model(hidden=256)  # hidden activations: 512 × 256 × 4 bytes = 512 KiB per array
    tracemalloc.start()
    try:
        m.train(X, y, epochs=6, batch_size=512, rng=0, print_every=None, progress=False)
    finally:
        tracemalloc.stop()
    permutation = 4096 * 8
    assert max(m.memory.extra_peaks[2:]) < permutation + FIXED_UFUNC_BUFFER, m.memory.extra_peaks


def test_arrays_handed_out_are_never_overwritten():
    X, y = data(64)
    m = model()
    m.train(X, y, epochs=2, batch_size=16, print_every=None, progress=False)
    predicted = m.predict(X)
    params = m.get_parameters()
    dense = m.layers[0]
    out = dense.forward(X[:8])
    dinputs = dense.backward(np.ones_like(out))
    kept = [predicted.copy(), params[0][0].copy(), out.copy(), dinputs.copy()]
    m.train(X, y, epochs=2, batch_size=16, print_every=None, progress=False)
    m.predict(X[::-1])
    dense.forward(X[8:16])
    dense.backward(np.full_like(out, 2.0))
    for before, now in zip(kept, [predicted, params[0][0], out, dinputs], strict=True):
        np.testing.assert_array_equal(before, now)


def test_evaluate_returns_plain_floats():
    X, y = data(64)
    m = model()
    result = m.evaluate(X, y, verbose=False)
    assert all(type(v) is float for v in result.values())


@pytest.mark.parametrize("optimizer", ["step", "update_params"])
def test_flat_and_per_layer_updates_agree(optimizer):
    """Optimizer.step packs parameters into one flat array; the math must not change."""
    X, y = data(128)
    a, b = model(), model()
    a.train(X, y, epochs=3, batch_size=32, shuffle=False, print_every=None, progress=False)
    b.finalize()
    layers = [layer for layer in b.layers if layer.params]
    opt = Adam(1e-3)
    for _ in range(3):
        for start in range(0, 128, 32):
            out = b.forward(X[start:start + 32], training=True)
            b.backward(out, np.eye(3, dtype=np.float32)[y[start:start + 32]])
            if optimizer == "step":
                opt.step(layers)
            else:
                opt.pre_update_params()
                for layer in layers:
                    opt.update_params(layer)
                opt.post_update_params()
    for pa, pb in zip(a.get_parameters(), b.get_parameters(), strict=True):
        for name, x, y in zip(("weights", "biases"), pa, pb, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7, err_msg=name)
    # the comparison means something: the biases moved away from their zero start
    assert all(np.abs(biases).max() > 1e-4 for _, biases in b.get_parameters())
