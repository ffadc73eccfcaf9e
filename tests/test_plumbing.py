"""The plumbing around the math, where seeded bugs once went unnoticed (issue 9, item 10).

Each test here kills a bug that a mutation run (``tools/mutants.py``) or a seeded
bug (``tools/seeded_bugs.py``) showed the rest of the suite would let through.
"""

import numpy as np
import pytest

from chainrule import (
    SGD,
    Adagrad,
    Adam,
    BinaryCrossentropy,
    Dense,
    Layer,
    Linear,
    MeanSquaredError,
    Model,
    ReLU,
    RMSprop,
    Sigmoid,
    TrainingDiverged,
)

OPTIMIZERS = [
    pytest.param(lambda: SGD(0.1), id="sgd"),
    pytest.param(lambda: SGD(0.1, momentum=0.9), id="sgd-momentum"),
    pytest.param(lambda: Adagrad(0.1), id="adagrad"),
    pytest.param(lambda: RMSprop(0.01), id="rmsprop"),
    pytest.param(lambda: Adam(0.01), id="adam"),
]


class Kernel:
    """A layer with one parameter that is not a Dense buffer: updated on its own."""

    params = ("kernel",)

    def __init__(self):
        self.kernel = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
        self.dkernel = np.zeros_like(self.kernel)


def snapshot(optimizer, layers):
    params = [getattr(layer, name).copy() for layer in layers for name in layer.params]
    state = [{slot: value.copy() for slot, value in optimizer.get_state(layer, name).items()}
             for layer in layers for name in layer.params]
    return params, state, optimizer.iterations


def assert_same(before, after):
    (params_a, state_a, steps_a), (params_b, state_b, steps_b) = before, after
    for a, b in zip(params_a, params_b, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(state_a, state_b, strict=True):
        assert a.keys() == b.keys()
        for slot in a:
            np.testing.assert_array_equal(a[slot], b[slot], err_msg=slot)
    assert steps_a == steps_b


@pytest.mark.parametrize("make", OPTIMIZERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("kind", ["dense", "single-parameter"])
def test_a_non_finite_gradient_is_refused_before_anything_changes(make, bad, kind):
    """Parameters, momentums, caches and the step count stay as they were.

    (Without the check, the update would run, the parameters would be put back when they
    turn NaN, but the state would keep the NaN and poison every later step.)
    """
    rng = np.random.default_rng(0)
    layers = [Dense(2, 3, dtype=np.float64, rng=0), Dense(3, 2, dtype=np.float64, rng=1)] \
        if kind == "dense" else [Kernel()]
    optimizer = make()

    def gradients():
        for layer in layers:
            for name in layer.params:
                setattr(layer, "d" + name, rng.standard_normal(getattr(layer, name).shape))

    for _ in range(2):  # a state that is not zero
        gradients()
        optimizer.step(layers)
    before = snapshot(optimizer, layers)
    gradients()
    getattr(layers[-1], "d" + layers[-1].params[-1])[0, -1] = bad
    with pytest.raises(FloatingPointError, match="gradient holds NaN or infinite"):
        optimizer.step(layers)
    assert_same(before, snapshot(optimizer, layers))
    gradients()  # ... and the next finite step goes on from there
    optimizer.step(layers)
    assert optimizer.iterations == 3
    assert all(np.isfinite(getattr(layer, name)).all() for layer in layers
               for name in layer.params)


class NaNGradient(Layer):
    """The identity; once ``active``, its backward turns one gradient NaN while the
    forward pass, and so the loss, stays finite."""

    active = False

    def forward(self, inputs, training=True):
        self.output = inputs
        return inputs

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        if self.active:
            self.dinputs[0, 0] = np.nan
        return self.dinputs


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_training_stops_on_a_nan_gradient_with_a_finite_loss(make):
    poison = NaNGradient()
    model = Model([Dense(2, 4, init="he", rng=0), poison, ReLU(), Dense(4, 1, rng=1), Linear()])
    model.set(loss=MeanSquaredError(), optimizer=make())
    X = np.random.default_rng(0).normal(size=(8, 2))
    y = X[:, :1] - X[:, 1:]
    model.train(X, y, epochs=2, print_every=None)
    before = snapshot(model.optimizer, model.trainable_layers)
    poison.active = True
    with pytest.raises(TrainingDiverged, match="epoch 3, step 1: a gradient holds NaN"):
        model.train(X, y, epochs=1, print_every=None)
    assert_same(before, snapshot(model.optimizer, model.trainable_layers))
    assert model.epoch == 2 and len(model.history["loss"]) == 2


def test_a_binary_model_with_constant_targets_evaluates_as_binary():
    """Without ``accuracy=``, a sigmoid model counts thresholded predictions equal to the
    targets. A regression metric would agree on mixed 0/1 targets, but with constant
    ones its precision std(y)/250 is 0 and nothing would ever count as right."""
    X = np.random.default_rng(0).normal(size=(40, 2))
    target = np.ones((40, 1))
    model = Model([Dense(2, 4, rng=0), ReLU(), Dense(4, 1, rng=1), Sigmoid()])
    model.set(loss=BinaryCrossentropy(), optimizer=Adam(0.05))
    history = model.train(X, target, epochs=20, print_every=None)
    result = model.evaluate(X, target, verbose=False)
    assert result["accuracy"] == float(np.mean((model.predict(X) > 0.5) == target)) == 1.0
    assert history["accuracy"][-1] == 1.0
