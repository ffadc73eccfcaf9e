"""Every layer states its Jacobian ∂output/∂inputs per sample, and backward is dvalues @ J."""

import numpy as np
import pytest
from conftest import away_from_zero

import chainrule as cr
from chainrule.nn._layers import diagonal_jacobian

LAYERS = {
    "dense": lambda: cr.Dense(4, 3, init="he", dtype=np.float64, rng=0),
    "relu": cr.ReLU,
    "leaky_relu": lambda: cr.LeakyReLU(0.1),
    "sigmoid": cr.Sigmoid,
    "tanh": cr.Tanh,
    "softmax": cr.Softmax,
    "linear": cr.Linear,
    "dropout": lambda: cr.Dropout(0.5, rng=3),
}


def run(layer, x):
    """A forward pass; dropout keeps the mask of its first (training) pass."""
    if isinstance(layer, cr.Dropout) and getattr(layer, "binary_mask", None) is not None:
        return layer.forward_with_mask(x)
    return layer.forward(x)


def numerical_jacobian(layer, x):
    """J[s, o, i] = ∂out[s, o]/∂x[s, i] by central differences (samples are independent,
    so the gradient of Σ_s out[s, o] holds row s of every sample's Jacobian)."""
    n_outputs = run(layer, x).shape[1]
    columns = [cr.numerical_gradient(lambda z, o=o: float(np.sum(run(layer, z)[:, o])), x.copy())
               for o in range(n_outputs)]
    return np.stack(columns, axis=1)


@pytest.mark.parametrize("name", list(LAYERS))
def test_jacobian_agrees_with_central_differences(name, rng):
    layer = LAYERS[name]()
    x = away_from_zero(rng, (5, 4))
    run(layer, x)
    jacobian = layer.jacobian(x)
    assert jacobian.shape == (5, run(layer, x).shape[1], 4)
    np.testing.assert_allclose(jacobian, numerical_jacobian(layer, x), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", list(LAYERS))
def test_backward_is_dvalues_times_the_jacobian(name, rng):
    layer = LAYERS[name]()
    x = away_from_zero(rng, (6, 4))
    output = layer.forward(x)
    dvalues = rng.normal(size=output.shape)
    dinputs = layer.backward(dvalues)
    # Row s of the chain rule: ∂L/∂x[s] = ∂L/∂out[s] · ∂out[s]/∂x[s].
    expected = np.einsum("so,soi->si", dvalues, layer.jacobian(x))
    np.testing.assert_allclose(dinputs, expected, rtol=1e-12, atol=1e-15)


def test_dense_jacobian_is_the_transposed_weights_for_every_sample(rng):
    layer = cr.Dense(3, 2, dtype=np.float64, rng=0)
    jacobian = layer.jacobian(rng.normal(size=(4, 3)))
    for sample in jacobian:
        np.testing.assert_array_equal(sample, layer.weights.T)


def test_elementwise_jacobians_are_diagonal(rng):
    x = np.array([[-2.0, 0.5, 3.0]])
    np.testing.assert_array_equal(cr.ReLU().jacobian(x)[0], np.diag([0.0, 1.0, 1.0]))
    np.testing.assert_array_equal(cr.LeakyReLU(0.2).jacobian(x)[0], np.diag([0.2, 1.0, 1.0]))
    np.testing.assert_array_equal(cr.Linear().jacobian(x)[0], np.eye(3))
    s = 1 / (1 + np.exp(-x[0]))
    np.testing.assert_allclose(cr.Sigmoid().jacobian(x)[0], np.diag(s * (1 - s)), rtol=1e-14)
    np.testing.assert_allclose(cr.Tanh().jacobian(x)[0], np.diag(1 - np.tanh(x[0]) ** 2),
                               rtol=1e-14)


def test_softmax_jacobian_is_diag_s_minus_s_s_transposed(rng):
    x = rng.normal(size=(3, 4))
    s = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    jacobian = cr.Softmax().jacobian(x)
    for row, sample in zip(s, jacobian, strict=True):
        np.testing.assert_allclose(sample, np.diagflat(row) - np.outer(row, row), rtol=1e-12,
                                   atol=1e-15)
        np.testing.assert_allclose(sample.sum(axis=0), 0, atol=1e-15)  # probabilities sum to 1


def test_dropout_jacobian_is_the_mask_of_that_pass(rng):
    layer = cr.Dropout(0.5, rng=1)
    x = rng.normal(size=(4, 6))
    layer.forward(x)
    jacobian = layer.jacobian(x)
    for mask_row, sample in zip(layer.binary_mask, jacobian, strict=True):
        np.testing.assert_array_equal(sample, np.diag(mask_row))
    assert set(np.unique(layer.binary_mask)) == {0.0, 2.0}
    layer.forward(x, training=False)  # inference: the identity
    np.testing.assert_array_equal(layer.jacobian(x), np.broadcast_to(np.eye(6), (4, 6, 6)))


def test_jacobian_leaves_the_layer_as_it_was(rng):
    for layer in (cr.Sigmoid(), cr.Softmax(), cr.Tanh()):
        x = rng.normal(size=(3, 4))
        output = layer.forward(x).copy()
        layer.jacobian(rng.normal(size=(5, 4)))
        np.testing.assert_array_equal(layer.output, output)
        assert layer.inputs is x


def test_diagonal_jacobian_puts_derivatives_on_the_diagonal():
    derivatives = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(diagonal_jacobian(derivatives),
                                  [[[1.0, 0.0], [0.0, 2.0]], [[3.0, 0.0], [0.0, 4.0]]])


def test_jacobian_refuses_inputs_of_the_wrong_shape(rng):
    with pytest.raises(ValueError, match=r"inputs must have shape \(n_samples, 3\)"):
        cr.Dense(3, 2).jacobian(rng.normal(size=(2, 4)))
    layer = cr.Dropout(0.5, rng=0)
    layer.forward(rng.normal(size=(2, 3)))
    with pytest.raises(ValueError, match="last pass's shape"):
        layer.jacobian(rng.normal(size=(4, 3)))


@pytest.mark.parametrize("layer", [cr.ReLU(), cr.Dense(2, 2), cr.Softmax(), cr.Dropout(0.1),
                                   cr.LeakyReLU(), cr.Sigmoid(), cr.Tanh(), cr.Linear()],
                         ids=repr)
def test_every_layer_states_its_local_rule(layer):
    rule = layer.local_rule()
    assert rule.startswith(type(layer).__name__ + ":") and "∂" in rule
