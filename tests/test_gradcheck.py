import numpy as np
import pytest

import chainrule as cr
from chainrule import Dense, Layer, ReLU, Softmax


def test_numerical_gradient_of_a_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = cr.numerical_gradient(lambda z: float(np.sum(z**3) + z[0, 1] * z[1, 0]), x)
    expected = 3 * x**2
    expected[0, 1] += x[1, 0]
    expected[1, 0] += x[0, 1]
    np.testing.assert_allclose(grad, expected, rtol=1e-8)
    np.testing.assert_array_equal(x, [[1.0, -2.0], [0.5, 3.0]])  # restored


def test_numerical_gradient_refuses_integer_arrays():
    with pytest.raises(TypeError, match="floating-point"):
        cr.numerical_gradient(lambda z: 0.0, np.array([1, 2]))


class WrongReLU(ReLU):
    """A ReLU whose backward forgets to zero the negative side."""

    def backward(self, dvalues):
        self.dinputs = dvalues.copy()
        return self.dinputs


def test_gradcheck_catches_a_wrong_derivative(rng):
    x = rng.normal(size=(4, 3))
    assert cr.gradcheck(ReLU(), x) < 1e-8
    assert cr.gradcheck(WrongReLU(), x) > 0.1
    with pytest.raises(cr.GradcheckError, match="dinputs has relative error"):
        cr.gradcheck(WrongReLU(), x, tolerance=1e-6)


def test_gradcheck_of_a_network_with_a_loss(rng):
    layers = [Dense(3, 5, init="he", dtype=np.float64, rng=0, weight_regularizer_l2=0.01),
              cr.Tanh(), Dense(5, 4, init="he", dtype=np.float64, rng=1), Softmax()]
    errors = cr.gradcheck(layers, rng.normal(size=(6, 3)), rng.integers(0, 4, 6),
                          loss=cr.CategoricalCrossentropy(), per_parameter=True)
    assert set(errors) == {"dinputs", "layers[0].dweights", "layers[0].dbiases",
                           "layers[2].dweights", "layers[2].dbiases"}
    assert max(errors.values()) < 1e-6


def test_gradcheck_of_a_model(rng):
    model = cr.Model([Dense(3, 6, init="he", dtype=np.float64, rng=0, weight_regularizer_l1=0.01),
                      cr.Sigmoid(), Dense(6, 2, init="he", dtype=np.float64, rng=1), cr.Linear()])
    model.set(loss=cr.MeanSquaredError(), optimizer=cr.Adam())
    model.finalize()
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    assert cr.gradcheck(model, X, y, tolerance=1e-6) < 1e-6


def test_gradcheck_needs_float64_parameters(rng):
    with pytest.raises(TypeError, match="float64"):
        cr.gradcheck(Dense(2, 2), rng.normal(size=(1, 2)))


def test_gradcheck_refuses_unknown_targets():
    with pytest.raises(TypeError, match="gradcheck target"):
        cr.gradcheck(object(), np.ones((1, 1)))


def test_relative_error_is_scale_free():
    from chainrule.gradcheck import relative_error

    a = np.array([1e-3, 2e-3])
    assert relative_error(a, a * (1 + 1e-9)) < 1e-8
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_error(np.array([1.0]), np.array([2.0])) == 0.5


def test_layer_subclass_contract():
    assert Layer.params == ()
    assert Dense.params == ("weights", "biases")
