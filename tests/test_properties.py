"""Property-based tests: shapes and invariants over many shapes and values."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import chainrule as cr

dims = st.integers(min_value=1, max_value=6)
finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def batches(draw, n_features=None):
    n = draw(dims)
    k = n_features if n_features is not None else draw(dims)
    return draw(arrays(np.float64, (n, k), elements=finite))


@settings(max_examples=60, deadline=None)
@given(x=batches(), n_out=dims, seed=st.integers(0, 2**32 - 1))
def test_dense_shapes_and_gradient(x, n_out, seed):
    layer = cr.Dense(x.shape[1], n_out, init="glorot", dtype=np.float64, rng=seed)
    out = layer.forward(x)
    assert out.shape == (x.shape[0], n_out)
    dinputs = layer.backward(np.ones_like(out))
    assert dinputs.shape == x.shape
    assert layer.dweights.shape == layer.weights.shape
    assert layer.dbiases.shape == layer.biases.shape
    assert cr.gradcheck(layer, x, rng=seed) < 1e-6


@settings(max_examples=60, deadline=None)
@given(x=batches())
def test_softmax_rows_are_distributions(x):
    out = cr.Softmax().forward(x * 100)
    assert np.all(out >= 0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(x=batches())
def test_softmax_gradient_sums_to_zero_per_row(x):
    layer = cr.Softmax()
    layer.forward(x)
    dinputs = layer.backward(np.cos(x))
    # Softmax is invariant to adding a constant to a row, so its gradient has no component along 1.
    np.testing.assert_allclose(dinputs.sum(axis=1), 0.0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(x=batches(), which=st.sampled_from(["relu", "leaky", "sigmoid", "tanh", "linear"]))
def test_elementwise_activations_keep_shape_and_range(x, which):
    layer = {"relu": cr.ReLU, "leaky": cr.LeakyReLU, "sigmoid": cr.Sigmoid, "tanh": cr.Tanh,
             "linear": cr.Linear}[which]()
    out = layer.forward(x)
    assert out.shape == x.shape and np.isfinite(out).all()
    if which == "relu":
        assert np.all(out >= 0)
    if which in ("sigmoid", "tanh"):
        assert np.all(np.abs(out) <= 1)
    assert layer.backward(np.ones_like(out)).shape == x.shape


@settings(max_examples=60, deadline=None)
@given(x=batches(), seed=st.integers(0, 2**32 - 1))
def test_crossentropy_is_finite_and_nonnegative(x, seed):
    labels = np.random.default_rng(seed).integers(0, x.shape[1], x.shape[0])
    fused = cr.SoftmaxCategoricalCrossentropy()
    loss = fused.forward(x * 1000, labels)
    assert np.isfinite(loss) and 0 <= loss <= -np.log(1e-7) + 1e-9
    grad = fused.backward(fused.output, labels)
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(x=batches(), seed=st.integers(0, 2**32 - 1))
def test_regression_losses_are_zero_only_at_the_target(x, seed):
    for loss in (cr.MeanSquaredError(), cr.MeanAbsoluteError()):
        assert loss.calculate(x, x) == 0.0
        np.testing.assert_array_equal(loss.backward(x, x), 0.0)
        shifted = x + np.random.default_rng(seed).uniform(0.5, 1.0, x.shape)
        assert loss.calculate(shifted, x) > 0
