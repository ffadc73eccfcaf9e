"""Golden multi-step trajectories: each optimizer against the book's formulas written out here."""

import copy

import numpy as np
import pytest

from chainrule import SGD, Adagrad, Adam, Dense, RMSprop
from chainrule.optim import _groups


class FakeLayer:
    """Any object that lists its params works: optimizers never look at layer types."""

    params = ("kernel",)

    def __init__(self, kernel):
        self.kernel = np.array(kernel, dtype=np.float64)
        self.dkernel = np.zeros_like(self.kernel)


GRADIENTS = [np.array([[0.5, -1.0, 2.0]]), np.array([[0.1, 0.3, -0.2]]),
             np.array([[-1.5, 0.0, 0.7]]), np.array([[0.2, -0.4, 1.0]])]
START = [[1.0, -2.0, 0.5]]


def run(optimizer):
    layer = FakeLayer(START)
    trajectory = []
    for g in GRADIENTS:
        layer.dkernel[:] = g
        optimizer.pre_update_params()
        optimizer.update_params(layer)
        optimizer.post_update_params()
        trajectory.append(layer.kernel.copy())
    return trajectory


def reference(kind, lr, decay, **h):
    p = np.array(START, dtype=np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    out = []
    for t, g in enumerate(GRADIENTS):
        rate = lr / (1 + decay * t)
        if kind == "sgd":
            m = h["momentum"] * m - rate * g
            p = p + m
        elif kind == "adagrad":
            v = v + g**2
            p = p - rate * g / (np.sqrt(v) + h["epsilon"])
        elif kind == "rmsprop":
            v = h["rho"] * v + (1 - h["rho"]) * g**2
            p = p - rate * g / (np.sqrt(v) + h["epsilon"])
        elif kind == "adam":
            m = h["beta_1"] * m + (1 - h["beta_1"]) * g
            v = h["beta_2"] * v + (1 - h["beta_2"]) * g**2
            m_hat = m / (1 - h["beta_1"] ** (t + 1))
            v_hat = v / (1 - h["beta_2"] ** (t + 1))
            p = p - rate * m_hat / (np.sqrt(v_hat) + h["epsilon"])
        out.append(p.copy())
    return out


CASES = [
    pytest.param(SGD(0.1), ("sgd", 0.1, 0.0), {"momentum": 0.0}, id="sgd"),
    pytest.param(SGD(0.5, decay=0.1, momentum=0.9), ("sgd", 0.5, 0.1), {"momentum": 0.9},
                 id="sgd-momentum-decay"),
    pytest.param(Adagrad(0.2, decay=0.01), ("adagrad", 0.2, 0.01), {"epsilon": 1e-7}, id="adagrad"),
    pytest.param(RMSprop(0.01, decay=1e-3, rho=0.8), ("rmsprop", 0.01, 1e-3),
                 {"rho": 0.8, "epsilon": 1e-7}, id="rmsprop"),
    pytest.param(Adam(0.05, decay=5e-7), ("adam", 0.05, 5e-7),
                 {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}, id="adam"),
    pytest.param(Adam(0.02, epsilon=1e-3, beta_1=0.5, beta_2=0.9), ("adam", 0.02, 0.0),
                 {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}, id="adam-custom"),
]


@pytest.mark.parametrize("optimizer, kind, hyper", CASES)
def test_trajectory_matches_the_formulas(optimizer, kind, hyper):
    got = run(optimizer)
    want = reference(*kind, **hyper)
    for step, (g, w) in enumerate(zip(got, want, strict=True)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15, err_msg=f"step {step}")
    assert optimizer.iterations == len(GRADIENTS)


def test_decay_schedule_and_defaults():
    opt = Adam(learning_rate=0.05, decay=5e-7)
    assert (opt.learning_rate, opt.beta_1, opt.beta_2, opt.epsilon) == (0.05, 0.9, 0.999, 1e-7)
    for _ in range(3):
        opt.pre_update_params()
        opt.post_update_params()
    opt.pre_update_params()
    # Tight enough to tell step 3 from step 4: the two rates differ by 5e-7 relative.
    assert opt.current_learning_rate == pytest.approx(0.05 / (1 + 5e-7 * 3), rel=1e-12)
    assert opt.current_learning_rate != pytest.approx(0.05 / (1 + 5e-7 * 4), rel=1e-12)
    book = SGD(1.0, decay=0.1)  # the book's first rates: 1, 1/1.1, 1/1.2
    rates = []
    for _ in range(3):
        book.pre_update_params()
        rates.append(book.current_learning_rate)
        book.post_update_params()
    assert rates == pytest.approx([1.0, 1 / 1.1, 1 / 1.2], rel=1e-15)
    assert SGD().learning_rate == 1.0 and Adagrad().learning_rate == 1.0
    assert RMSprop().learning_rate == 0.001 and RMSprop().rho == 0.9


def test_step_updates_dense_layers_and_skips_parameterless_ones():
    from chainrule import ReLU

    layer = Dense(2, 2, dtype=np.float64, rng=0)
    before = layer.weights.copy()
    layer.dweights = np.ones_like(layer.weights)
    layer.dbiases = np.ones_like(layer.biases)
    opt = SGD(0.1)
    opt.step([layer, ReLU()])
    np.testing.assert_allclose(layer.weights, before - 0.1)
    np.testing.assert_allclose(layer.biases, -0.1)
    assert opt.iterations == 1


def test_state_is_per_layer_and_parameter():
    a, b = FakeLayer([[1.0]]), FakeLayer([[1.0]])
    opt = SGD(0.1, momentum=0.5)
    a.dkernel[:] = 1.0
    b.dkernel[:] = -1.0
    opt.step([a, b])
    opt.step([a, b])
    assert a.kernel[0, 0] == pytest.approx(1 - 0.1 - 0.15)
    assert b.kernel[0, 0] == pytest.approx(1 + 0.1 + 0.15)


def test_float32_parameters_stay_float32():
    layer = Dense(3, 2)
    layer.dweights = np.ones((3, 2), np.float32)
    layer.dbiases = np.ones((1, 2), np.float32)
    for opt in (SGD(momentum=0.9), Adagrad(), RMSprop(), Adam()):
        opt.step([layer])
        assert layer.weights.dtype == np.float32 and layer.biases.dtype == np.float32


@pytest.mark.parametrize(
    "make, message",
    [
        pytest.param(lambda: SGD(learning_rate=0), "learning_rate must be > 0", id="zero-lr"),
        pytest.param(lambda: SGD(learning_rate=-1), "learning_rate", id="negative-lr"),
        pytest.param(lambda: Adam(learning_rate=float("nan")), "learning_rate", id="nan-lr"),
        pytest.param(lambda: SGD(momentum=1.0), "momentum", id="momentum-one"),
        pytest.param(lambda: Adam(beta_1=1.5), "beta_1", id="beta-above-one"),
        pytest.param(lambda: RMSprop(decay=-0.1), "decay", id="negative-decay"),
        pytest.param(lambda: Adagrad(epsilon=0), "epsilon", id="zero-epsilon"),
    ],
)
def test_bad_hyperparameters_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_learning_rate_of_wrong_type():
    with pytest.raises(TypeError, match="learning_rate must be a real number"):
        Adam(learning_rate="0.01")


def test_repr():
    assert repr(SGD(0.5, momentum=0.9)) == "SGD(learning_rate=0.5, decay=0.0, momentum=0.9)"


class TwoParamLayer:
    params = ("kernel", "bias")

    def __init__(self):
        self.kernel = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
        self.bias = np.array([[0.5, -0.25, 0.125]])
        self.dkernel, self.dbias = np.zeros_like(self.kernel), np.zeros_like(self.bias)


def two_param_gradients(step):
    rng = np.random.default_rng(step)
    return rng.standard_normal((2, 3)), rng.standard_normal((1, 3))


def run_two_params(optimizer, flat_steps, total=4):
    """``flat_steps`` steps through ``step()`` (the flat update), the rest per layer."""
    layer = TwoParamLayer()
    trajectory = []
    for t in range(total):
        layer.dkernel[...], layer.dbias[...] = two_param_gradients(t)
        if t < flat_steps:
            optimizer.step([layer])
        else:
            optimizer.pre_update_params()
            optimizer.update_params(layer)
            optimizer.post_update_params()
        trajectory.append(np.concatenate([layer.kernel.ravel(), layer.bias.ravel()]))
    return trajectory


@pytest.mark.parametrize("optimizer", [pytest.param(case.values[0], id=case.id) for case in CASES])
@pytest.mark.parametrize("flat_steps", [4, 2])
def test_flat_chunked_update_matches_the_per_layer_one(monkeypatch, optimizer, flat_steps):
    """The flat update, cut into chunks of 4 (so chunks straddle the two parameters and the
    last one is short, all sharing one scratch array), and a switch back to update_params
    midway, give the per-layer trajectory."""
    per_layer = run_two_params(copy.deepcopy(optimizer), flat_steps=0)
    monkeypatch.setattr(_groups, "CHUNK", 4)
    flat = run_two_params(optimizer, flat_steps=flat_steps)
    for step, (g, w) in enumerate(zip(flat, per_layer, strict=True)):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-15, err_msg=f"step {step}")
    assert not np.array_equal(per_layer[0], per_layer[-1])  # the parameters did move


@pytest.mark.parametrize("path", ["numba", "numpy"])
@pytest.mark.parametrize("make", [Adam, lambda: SGD(0.1), lambda: SGD(0.1, momentum=0.9), Adagrad,
                                  RMSprop], ids=["Adam", "SGD", "SGD-momentum", "Adagrad",
                                                 "RMSprop"])
def test_a_float32_step_allocates_no_array(make, path):
    """The float16 machinery (a float32 master, rounding back) costs float32 models
    nothing: after the first step, a step allocates less than one parameter array."""
    import tracemalloc

    import chainrule as cr

    if path == "numba":
        pytest.importorskip("numba")
    previous = cr.use_kernels(path)
    try:
        layers = [Dense(64, 512, rng=0), Dense(512, 4, rng=1)]  # weights: 128 KB
        for layer in layers:
            layer.dweights = np.ones_like(layer.weights)
            layer.dbiases = np.ones_like(layer.biases)
        optimizer = make()
        optimizer.step(layers)
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(10):
            optimizer.step(layers)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
        cr.use_kernels(previous)
    assert peak < 16_384


def test_an_optimizer_written_on_the_base_class_has_no_decay():
    # A user's optimizer (the book's pattern) that passes only a learning rate keeps it.
    from chainrule import Optimizer

    class Plain(Optimizer):
        def update_params(self, layer):
            layer.weights -= self.current_learning_rate * layer.dweights

    plain = Plain(0.1)
    assert plain.decay == 0.0
    for _ in range(3):
        plain.pre_update_params()
        plain.post_update_params()
    assert plain.current_learning_rate == 0.1
