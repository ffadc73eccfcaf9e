"""The numba kernels against their NumPy references, and the switch between the two paths.

Each kernel is called where its NumPy expression lives (the layer, loss or optimizer);
these tests run the same call on both paths and compare. Element-wise kernels and the
optimizers' updates must be bit-identical; softmax and the loss (exp, log, sums in
another order) within a few float32 ulp.
"""

import hashlib
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import _kernels
from chainrule.callbacks import Callback

numba = pytest.importorskip("numba")

PATHS = ("numba", "numpy")


@pytest.fixture(autouse=True)
def restore_path():
    previous = cr.kernels()
    yield
    cr.use_kernels(previous)


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Float32 units in the last place between ``a`` and ``b``, element-wise; NaN against
    NaN counts 0, NaN against a number a huge distance."""
    nan = np.isnan(a) & np.isnan(b)
    a, b = (np.ascontiguousarray(x, np.float32).view(np.int32).astype(np.int64) for x in (a, b))
    # Map the sign-magnitude bit patterns onto one line, so −0 and +0 are 0 apart.
    a, b = (np.where(x < 0, -(x & 0x7FFFFFFF), x) for x in (a, b))
    return np.where(nan, 0, np.abs(a - b))


def awkward(rng, shape) -> np.ndarray:
    """Random float32 values with the edge cases a kernel must treat as NumPy does."""
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    x.flat[:6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-40]  # NaN, signed zeros, denormal
    return x


def on_both_paths(compute):
    """``compute()`` on the numba path and on the NumPy path: (numba result, NumPy result)."""
    results = []
    for path in PATHS:
        cr.use_kernels(path)
        assert cr.kernels() == path
        with np.errstate(all="ignore"):  # inf·0 and the like: NumPy warns, a kernel does not
            results.append(compute())
    return results


# -- the switch -------------------------------------------------------------------------------


def run_python(code: str, **env) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env}, check=True)
    return result.stdout.strip()


def test_import_chainrule_does_not_import_numba():
    code = "import sys, chainrule; print('numba' in sys.modules)"
    assert run_python(code) == "False"


def test_the_environment_variable_and_the_function_choose_the_path():
    code = "import chainrule; print(chainrule.kernels())"
    assert run_python(code, CHAINRULE_KERNELS="numpy") == "numpy"
    assert run_python(code, CHAINRULE_KERNELS="numba") == "numba"
    assert run_python(code, CHAINRULE_KERNELS="auto") == "numba"
    # The function overrides the variable; it returns the path that was active.
    code = "import chainrule; print(chainrule.use_kernels('numba'), chainrule.kernels())"
    assert run_python(code, CHAINRULE_KERNELS="numpy") == "numpy numba"
    # On the NumPy path numba is never imported.
    code = ("import sys, numpy as np, chainrule as cr; "
            "cr.ReLU().forward(np.ones((2, 2), np.float32)); print('numba' in sys.modules)")
    assert run_python(code, CHAINRULE_KERNELS="numpy") == "False"


def test_a_bad_path_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match="use_kernels path must be 'numba', 'numpy' or 'auto'"):
        cr.use_kernels("fortran")
    code = "import chainrule; chainrule.kernels()"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "CHAINRULE_KERNELS": "cuda"})
    assert result.returncode != 0 and "CHAINRULE_KERNELS must be" in result.stderr


def test_use_kernels_returns_the_previous_path():
    cr.use_kernels("numba")
    assert cr.use_kernels("numpy") == "numba"
    assert cr.use_kernels("numba") == "numpy"
    assert cr.use_kernels("auto") == "numba" and cr.kernels() == "numba"


def test_float64_and_strided_arrays_take_the_numpy_path():
    cr.use_kernels("numba")
    f32 = np.ones((4, 3), np.float32)
    assert _kernels.fast(f32) is not None
    assert _kernels.fast(f32.astype(np.float64)) is None
    assert _kernels.fast(np.asfortranarray(f32)) is None
    assert _kernels.fast(f32[:, :2]) is None
    assert _kernels.fast(f32.astype(">f4")) is None
    cr.use_kernels("numpy")
    assert _kernels.fast(f32) is None


# -- layers and losses: each kernel against its NumPy expression ------------------------------


def layer_passes(layer_class, inputs, dvalues):
    def compute():
        layer = layer_class()
        output = layer.forward(inputs.copy()).copy()
        dinputs = layer.backward(dvalues.copy()).copy()
        return output, dinputs
    return compute


@pytest.mark.parametrize("layer_class", [cr.ReLU, cr.Tanh, cr.Sigmoid])
def test_elementwise_activations_are_bit_identical(layer_class, rng):
    inputs, dvalues = awkward(rng, (37, 11)), awkward(rng, (37, 11))
    (out_a, din_a), (out_b, din_b) = on_both_paths(layer_passes(layer_class, inputs, dvalues))
    assert ulps(out_a, out_b).max() == 0
    assert ulps(din_a, din_b).max() == 0


def test_softmax_agrees_to_float32_rounding(rng):
    inputs = (rng.standard_normal((257, 10)) * 5).astype(np.float32)
    inputs[0] = [np.nan, *inputs[0, 1:]]
    inputs[1] = 80.0  # e^(x − max) = 1 for every column
    dvalues = rng.standard_normal((257, 10)).astype(np.float32)
    (out_a, din_a), (out_b, din_b) = on_both_paths(layer_passes(cr.Softmax, inputs, dvalues))
    assert np.isnan(out_a[0]).all() and np.isnan(out_b[0]).all()
    assert ulps(out_a[1:], out_b[1:]).max() <= 8
    # Its backward (NumPy on both paths) only passes those last-bit differences on.
    np.testing.assert_allclose(din_a[1:], din_b[1:], rtol=1e-5, atol=1e-6)


def test_softmax_predictions_are_numpys_argmax(rng):
    outputs = rng.integers(0, 4, (300, 7)).astype(np.float32)  # ties: the first maximum wins
    outputs[0, 3] = np.nan  # the first NaN wins, as in np.argmax
    outputs[1, :] = np.nan
    a, b = on_both_paths(lambda: cr.Softmax().predictions(outputs).copy())
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.argmax(outputs, axis=1))


def test_dense_bias_add_and_regularization_are_bit_identical(rng):
    inputs, dvalues = awkward(rng, (33, 5))[:, ::-1].copy(), awkward(rng, (33, 8))
    inputs[np.isnan(inputs) | np.isinf(inputs)] = 1.0
    initial = rng.standard_normal((5, 8)).astype(np.float32)
    initial[0, :3] = [0.0, -0.0, 1e-40]

    def compute():
        layer = cr.Dense(5, 8, weight_regularizer_l1=3e-4, weight_regularizer_l2=5e-4,
                         bias_regularizer_l1=1e-3, bias_regularizer_l2=2e-3)
        layer.weights[...] = initial
        layer.biases[...] = rng_biases
        output = layer.forward(inputs).copy()
        layer.backward(dvalues)
        return output, layer.dweights.copy(), layer.dbiases.copy()

    rng_biases = rng.standard_normal((1, 8)).astype(np.float32)
    numba_results, numpy_results = on_both_paths(compute)
    for a, b in zip(numba_results, numpy_results, strict=True):
        assert ulps(a, b).max() == 0


@pytest.mark.parametrize("targets", ["one-hot", "soft"])
def test_crossentropy_losses_and_the_fused_gradient(targets, rng):
    p = rng.dirichlet(np.ones(10), size=200).astype(np.float32)
    p[0, 0], p[1, 1] = 0.0, 1.0  # clipped on both sides
    if targets == "one-hot":
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 200)]
    else:
        y = rng.dirichlet(np.ones(10), size=200).astype(np.float32)

    def compute():
        losses = cr.CategoricalCrossentropy().sample_losses(p, y).copy()
        gradient = cr.SoftmaxCategoricalCrossentropy().gradient(p, y).copy()
        return losses, gradient

    (losses_a, grad_a), (losses_b, grad_b) = on_both_paths(compute)
    assert ulps(losses_a, losses_b).max() <= 8
    assert ulps(grad_a, grad_b).max() == 0


# 1 − 1e-7 in float32 is 1 − 2⁻²³: the upper clip. Just below and above it, and 1 itself.
NEAR_ONE = [np.float32(1.0), np.nextafter(np.float32(1), np.float32(0)), np.float32(1 - 1e-7),
            np.float32(1 - 2**-22), np.float32(0.999)]


@pytest.mark.parametrize("confidence", NEAR_ONE, ids=["1", "1-2^-24", "1-1e-7", "1-2^-22",
                                                      "0.999"])
def test_a_confident_correct_prediction_is_clipped_as_numpy_and_keras_clip_it(confidence):
    """−log(clip(p, 1e-7, 1 − 1e-7)) for the target class, as Keras' categorical
    cross-entropy clips: p = 1 costs −log(1 − 1e-7) ≈ 1.19e-7 in float32, not 0."""
    p = np.array([[confidence, 1 - confidence, 0.0]], np.float32)
    y = np.eye(3, dtype=np.float32)[[0]]
    expected = -np.log(np.minimum(confidence, np.float32(1 - 1e-7)))
    for losses in on_both_paths(lambda: cr.CategoricalCrossentropy().sample_losses(p, y).copy()):
        assert ulps(losses, np.full(1, expected, np.float32)).max() <= 1


@pytest.mark.parametrize("margin", [20.0, 40.0, 100.0])
def test_the_fused_loss_clips_a_softmax_of_exactly_one_on_both_paths(margin):
    """Logits this far apart give a float32 softmax of exactly 1: the loss is the clip's
    −log(1 − 1e-7) (≈ 1.19e-7) per sample on both paths, not 0."""
    logits = np.array([[margin, 0.0, 0.0], [0.0, margin, 0.0]], np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1]]
    expected = -np.log(np.float32(1 - 1e-7))
    for loss in on_both_paths(lambda: cr.SoftmaxCategoricalCrossentropy().forward(logits, y)):
        assert loss == pytest.approx(float(expected), rel=1e-6)


def test_a_nan_prediction_gives_a_nan_loss_on_both_paths():
    p = np.full((2, 3), 1 / 3, np.float32)
    p[0, 2] = np.nan  # not the target class: NaN must still reach the loss
    y = np.eye(3, dtype=np.float32)[[0, 1]]
    for losses in on_both_paths(lambda: cr.CategoricalCrossentropy().sample_losses(p, y).copy()):
        assert np.isnan(losses[0]) and np.isfinite(losses[1])


# -- optimizers: the same gradients, 100 steps ----------------------------------------------------


OPTIMIZERS = {
    "adam": lambda: cr.Adam(1e-3),
    "adam-decay": lambda: cr.Adam(2e-3, decay=1e-2, beta_1=0.8, beta_2=0.99),
    "sgd": lambda: cr.SGD(0.05),
    "sgd-momentum": lambda: cr.SGD(0.05, decay=1e-3, momentum=0.9),
    "adagrad": lambda: cr.Adagrad(0.05),
    "rmsprop": lambda: cr.RMSprop(1e-3, rho=0.95),
}


def digits_network(hidden: int):
    X, y = cr.datasets.load_digits()
    model = cr.Model([cr.Dense(64, hidden, init="he", rng=1), cr.ReLU(),
                      cr.Dense(hidden, 10, rng=2), cr.Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(1e-3))
    return model, (X / 16).astype(np.float32), y


def recorded_gradients(hidden: int, steps: int = 100):
    """The gradients of ``steps`` real training steps (digits, batch 32), as arrays."""
    model, X, y = digits_network(hidden)
    grads = []

    class Record(Callback):
        def on_batch_end(self, step, logs):
            if len(grads) < steps:
                grads.append([layer.dweights.copy() for layer in model.trainable_layers]
                             + [layer.dbiases.copy() for layer in model.trainable_layers])

    model.train(X, y, epochs=-(-steps // 57), batch_size=32, shuffle=False, print_every=None,
                progress=False, callbacks=[Record()])
    assert len(grads) == steps
    return grads


@pytest.fixture(scope="module")
def gradients():
    # 64-64-10 (4,810 parameters: in cache) and 64-2048-10 (153,610: from memory).
    return {hidden: recorded_gradients(hidden) for hidden in (64, 2048)}


@pytest.mark.parametrize("hidden", [64, 2048])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_kernels_match_numpy_to_the_bit_over_100_steps(name, hidden, gradients):
    trajectories = []
    for path in PATHS:
        cr.use_kernels(path)
        layers = [cr.Dense(64, hidden, init="he", rng=1), cr.Dense(hidden, 10, rng=2)]
        optimizer = OPTIMIZERS[name]()
        for grads in gradients[hidden]:
            for layer, dweights, dbiases in zip(layers, grads[:2], grads[2:], strict=True):
                layer.dweights, layer.dbiases = dweights, dbiases
            optimizer.step(layers)
        state = [array for layer in layers for param in layer.params
                 for array in optimizer.get_state(layer, param).values()]
        trajectories.append([*(p for layer in layers for p in layer.get_parameters()), *state])
    for a, b in zip(*trajectories, strict=True):
        assert ulps(a, b).max() <= 8
        assert ulps(a, b).max() == 0  # in fact the same operations, in the same order


@pytest.mark.parametrize("name", ["adam", "sgd-momentum", "rmsprop"])
def test_the_books_update_params_runs_the_kernel_too(name, gradients):
    finals = []
    for path in PATHS:
        cr.use_kernels(path)
        layers = [cr.Dense(64, 64, init="he", rng=1), cr.Dense(64, 10, rng=2)]
        optimizer = OPTIMIZERS[name]()
        for grads in gradients[64][:20]:
            optimizer.pre_update_params()
            for layer, dweights, dbiases in zip(layers, grads[:2], grads[2:], strict=True):
                layer.dweights, layer.dbiases = dweights, dbiases
                optimizer.update_params(layer)
            optimizer.post_update_params()
        finals.append([p for layer in layers for p in layer.get_parameters()])
    for a, b in zip(*finals, strict=True):
        assert ulps(a, b).max() == 0


@pytest.mark.parametrize("name, kernel", [("adam", "adam"), ("sgd", "sgd"),
                                          ("sgd-momentum", "sgd_momentum"),
                                          ("adagrad", "adagrad"), ("rmsprop", "rmsprop")])
def test_a_step_runs_the_compiled_update_on_the_numba_path_only(name, kernel, monkeypatch):
    # Both paths compute the same bits, so only counting the calls tells them apart.
    calls, original = [], getattr(_kernels, kernel)
    monkeypatch.setattr(_kernels, kernel, lambda *args: calls.append(1) or original(*args))
    for path, expected in (("numba", 1), ("numpy", 0)):
        cr.use_kernels(path)
        layers = [cr.Dense(4, 3, rng=1), cr.Dense(3, 2, rng=2)]  # back to back: one group
        for layer in layers:
            layer.dweights, layer.dbiases = np.ones_like(layer.weights), np.ones_like(layer.biases)
        calls.clear()
        OPTIMIZERS[name]().step(layers)
        assert len(calls) == expected, path


def test_a_subclass_that_rewrites_the_update_keeps_its_own_math():
    class HalfStepSGD(cr.SGD):
        def _update(self, param, grad, state, tmp):
            param -= 0.5 * self.current_learning_rate * grad

    cr.use_kernels("numba")
    layer = cr.Dense(3, 2)
    before = layer.weights.copy()
    layer.dweights = np.ones_like(layer.weights)
    layer.dbiases = np.ones_like(layer.biases)
    HalfStepSGD(1.0).step([layer])
    np.testing.assert_array_equal(layer.weights, before - np.float32(0.5))


def test_training_100_steps_agrees_across_paths_to_float32_rounding():
    def train():
        model, X, y = digits_network(64)
        model.train(X, y, epochs=2, batch_size=32, shuffle=False, print_every=None,
                    progress=False)  # 114 steps
        return [p for layer in model.trainable_layers for p in layer.get_parameters()]

    for a, b in zip(*on_both_paths(train), strict=True):
        # Softmax's last bits differ between the paths and feed the gradients, so compare
        # against the tensor's scale: a few ulp of its largest value.
        assert np.abs(a - b).max() <= 8 * np.spacing(np.abs(b).max())


# -- reproducibility, checkpoints, divergence -------------------------------------------------


DIGEST_SCRIPT = """
import hashlib, numpy as np, chainrule as cr
X, y = cr.datasets.load_digits()
model = cr.Model([cr.Dense(64, 128, init="he", rng=1), cr.ReLU(), cr.Dense(128, 10, rng=2),
                  cr.Softmax()])
model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam(1e-3))
model.train((X / 16).astype(np.float32), y, epochs=2, batch_size=64, rng=3, print_every=None,
            progress=False)
digest = hashlib.sha256()
for layer in model.trainable_layers:
    for array in layer.get_parameters():
        digest.update(array.tobytes())
digest.update(repr(model.history).encode())
print(cr.kernels(), digest.hexdigest())
"""


@pytest.mark.parametrize("path", PATHS)
def test_each_path_is_bit_reproducible_across_processes(path):
    runs = {run_python(DIGEST_SCRIPT, CHAINRULE_KERNELS=path) for _ in range(2)}
    assert len(runs) == 1 and runs.pop().startswith(path)


def test_threads_training_at_once_compute_what_one_computes_alone():
    def train(results, key):
        model, X, y = digits_network(512)
        model.train(X[:640], y[:640], epochs=2, batch_size=64, rng=3, print_every=None,
                    progress=False)
        results[key] = [p.copy() for layer in model.trainable_layers
                        for p in layer.get_parameters()]

    cr.use_kernels("numba")
    results = {}
    train(results, "alone")
    # The kernels release the GIL: two threads train at once, each its own model.
    threads = [threading.Thread(target=train, args=(results, i)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for key in (0, 1):
        for a, b in zip(results["alone"], results[key], strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("first,second", [("numba", "numpy"), ("numpy", "numba")])
def test_a_checkpoint_written_on_one_path_resumes_on_the_other(first, second, tmp_path):
    X, y = digits_network(64)[1:]
    path = tmp_path / "run.ckpt"

    def fit(model, epochs, **kwargs):
        model.train(X, y, epochs=epochs, batch_size=64, print_every=None, progress=False,
                    **kwargs)

    cr.use_kernels(first)
    fit(digits_network(64)[0], 2, rng=5, checkpoint=path)
    cr.use_kernels(second)
    resumed = cr.Model.load(path)
    fit(resumed, 4, checkpoint=path)
    # The same run without a file in between: the first two epochs on one path, the rest
    # on the other. The checkpoint carried everything, whichever path wrote it.
    cr.use_kernels(first)
    straight = digits_network(64)[0]
    fit(straight, 2, rng=5)
    cr.use_kernels(second)
    fit(straight, 2)  # the same shuffling stream, continued
    assert resumed.epoch == straight.epoch == 4
    assert resumed.history == straight.history
    for a, b in zip(resumed.get_parameters(), straight.get_parameters(), strict=True):
        for x, z in zip(a, b, strict=True):
            np.testing.assert_array_equal(x, z)


def digests(layers) -> list[str]:
    return [hashlib.sha256(p.tobytes()).hexdigest() for layer in layers
            for p in layer.get_parameters()]


@pytest.mark.parametrize("size", [100, 200_000])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_diverging_step_is_undone_exactly_on_the_kernel_path(name, size):
    cr.use_kernels("numba")
    rng = np.random.default_rng(0)
    # Four groups: two whose updates must be undone, the failing one, one never reached.
    layers = [cr.Dense(size, 2), cr.Dense(2, 3), cr.Dense(size, 2)]
    spacer = cr.Dense(1, 1)  # noqa: F841 (its buffer keeps the next layer's apart)
    layers.append(cr.Dense(2, 2))
    layers[1].weights = layers[1].weights.copy()  # out of the shared buffer: its own group
    optimizer = OPTIMIZERS[name]()
    for _ in range(2):  # the second step fails
        for layer in layers:
            layer.dweights = rng.standard_normal(layer.weights.shape).astype(np.float32)
            layer.dbiases = rng.standard_normal(layer.biases.shape).astype(np.float32)
        if optimizer.iterations == 1:
            layers[2].weights[-1, -1] = np.nan  # whatever the update, it stays NaN
            before = digests(layers)
            state = [a.copy() for layer in layers[3:] for p in layer.params
                     for a in optimizer.get_state(layer, p).values()]
            with pytest.raises(FloatingPointError, match="as they were before this step"):
                optimizer.step(layers)
        else:
            optimizer.step(layers)
    assert len(optimizer._groups.groups) == 5  # layers[1]'s weights and biases apart
    assert digests(layers) == before
    assert optimizer.iterations == 1
    after = [a for layer in layers[3:] for p in layer.params
             for a in optimizer.get_state(layer, p).values()]
    assert all(np.array_equal(a, b) for a, b in zip(state, after, strict=True))


def test_training_diverged_keeps_the_last_finite_parameters_on_the_kernel_path():
    cr.use_kernels("numba")
    model, X, y = digits_network(64)
    model.set(optimizer=cr.SGD(1e38))
    model.finalize()
    snapshots = [digests(model.trainable_layers)]

    class Snapshot(Callback):
        def on_batch_end(self, step, logs):
            snapshots.append(digests(model.trainable_layers))

    with pytest.raises(cr.TrainingDiverged):
        model.train(X, y, epochs=5, batch_size=32, print_every=None, progress=False,
                    callbacks=[Snapshot()])
    assert digests(model.trainable_layers) == snapshots[-1]
    for layer in model.trainable_layers:
        assert all(np.isfinite(p).all() for p in layer.get_parameters())


def test_compiled_kernels_are_cached_on_disk():
    # numba's on-disk cache: a new process loads the compiled kernels instead of compiling
    # them again (the first step of a fresh `chainrule train` pays seconds without it).
    pytest.importorskip("numba")
    from numba.core.caching import NullCache

    module = _kernels._load()
    for name in _kernels._COMPILED:
        assert not isinstance(getattr(module, name)._cache, NullCache), name
