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


@pytest.mark.parametrize("x", [
    pytest.param(np.array([1, 2]), id="integer"),
    pytest.param(np.array([1.0, 2.0], dtype=np.float32), id="float32"),
    pytest.param([1.0, 2.0], id="list"),
])
def test_numerical_gradient_refuses_what_is_not_float64(x):
    with pytest.raises(TypeError, match="x must be a float64 ndarray"):
        cr.numerical_gradient(lambda z: 0.0, x)


@pytest.mark.parametrize("eps", [
    pytest.param(0.0, id="zero"), pytest.param(-1e-6, id="negative"),
    pytest.param(float("nan"), id="nan"), pytest.param(float("inf"), id="inf"),
    pytest.param("1e-6", id="string"),
])
def test_numerical_gradient_refuses_a_bad_step(eps):
    x = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="eps must be a finite number > 0"):
        cr.numerical_gradient(lambda z: float(np.sum(z)), x, eps=eps)
    np.testing.assert_array_equal(x, [1.0, 2.0])


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
    from chainrule.inspection._gradcheck import relative_error

    a = np.array([1e-3, 2e-3])
    assert relative_error(a, a * (1 + 1e-9)) < 1e-8
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_error(np.array([1.0]), np.array([2.0])) == 0.5


def test_layer_subclass_contract():
    assert Layer.params == ()
    assert Dense.params == ("weights", "biases")


def test_gradcheck_report_shows_both_arrays_and_the_worst_element(rng):
    x = rng.normal(size=(4, 3))
    report = cr.gradcheck(WrongReLU(), x, report=True)
    comparison = report["dinputs"]
    # The wrong backward passes the projection R through where x < 0; the right
    # gradient there is 0. Both arrays are shown, analytic = R, numerical = R·(x > 0).
    projection = np.random.default_rng(0).standard_normal(x.shape)
    np.testing.assert_allclose(comparison.analytic, projection)
    np.testing.assert_allclose(comparison.numerical, projection * (x > 0), atol=1e-8)
    np.testing.assert_allclose(comparison.side_by_side(),
                               np.column_stack([projection.ravel(),
                                                (projection * (x > 0)).ravel()]), atol=1e-8)
    worst = np.unravel_index(np.argmax(np.abs(projection) * (x < 0)), x.shape)
    assert comparison.worst == tuple(int(i) for i in worst)
    assert report.worst is comparison and report.max_error == comparison.relative_error
    text = str(comparison)
    assert f"worst at {list(comparison.worst)}" in text
    assert f"analytic {projection[worst]:.10g}" in text
    assert f"numerical {comparison.numerical[worst]:.10g}" in text
    assert comparison.table(max_rows=3).splitlines()[1].startswith(str(comparison.worst))


def test_gradcheck_error_names_the_worst_element_with_both_values(rng):
    x = rng.normal(size=(4, 3))
    report = cr.gradcheck(WrongReLU(), x, report=True)
    worst = report.worst
    with pytest.raises(cr.GradcheckError) as info:
        cr.gradcheck(WrongReLU(), x, tolerance=1e-6)
    message = str(info.value)
    assert f"worst element {list(worst.worst)}" in message
    assert f"analytic {worst.analytic[worst.worst]:.10g}" in message
    assert f"numerical {worst.numerical[worst.worst]:.10g}" in message


def test_gradcheck_report_of_a_network_agrees_per_parameter(rng):
    layers = [Dense(3, 4, init="he", dtype=np.float64, rng=0), cr.Sigmoid(),
              Dense(4, 2, init="he", dtype=np.float64, rng=1), cr.Linear()]
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    report = cr.gradcheck(layers, X, y, loss=cr.MeanSquaredError(), report=True)
    assert list(report) == ["dinputs", "layers[0].dweights", "layers[0].dbiases",
                            "layers[2].dweights", "layers[2].dbiases"]
    for name, comparison in report.items():
        assert comparison.analytic.shape == comparison.numerical.shape
        np.testing.assert_allclose(comparison.analytic, comparison.numerical, rtol=1e-6,
                                   atol=1e-9, err_msg=name)
    np.testing.assert_array_equal(report["layers[2].dweights"].analytic, layers[2].dweights)


def test_gradcheck_holds_a_dropout_mask_fixed(rng):
    x = rng.normal(size=(6, 5))
    assert cr.gradcheck(cr.Dropout(0.5, rng=3), x) < 1e-8
    assert cr.gradcheck(cr.Dropout(0.3), x) < 1e-8          # the book's global-state mask
    model = cr.Model([Dense(5, 8, init="he", dtype=np.float64, rng=0), cr.ReLU(),
                      cr.Dropout(0.5, rng=1), Dense(8, 3, init="he", dtype=np.float64, rng=2),
                      Softmax()])
    model.set(loss=cr.CategoricalCrossentropy(), optimizer=cr.Adam())
    errors = cr.gradcheck(model, x, rng.integers(0, 3, 6), per_parameter=True)
    assert max(errors.values()) < 1e-6
    mask = model.layers[2].binary_mask
    assert 0 < np.count_nonzero(mask) < mask.size          # dropout really was active


def test_dropout_forward_with_mask_reuses_the_last_training_mask(rng):
    layer = cr.Dropout(0.5, rng=0)
    x = rng.normal(size=(4, 6))
    first = layer.forward(x).copy()
    again = layer.forward_with_mask(x)
    np.testing.assert_array_equal(again, first)
    np.testing.assert_array_equal(layer.forward_with_mask(2 * x), 2 * first)
    with pytest.raises(RuntimeError, match="no training mask of shape"):
        layer.forward_with_mask(rng.normal(size=(3, 6)))


def test_a_comparison_table_lists_the_worst_first_and_says_how_many_it_leaves_out():
    from chainrule.inspection._gradcheck import GradientComparison

    analytic = np.arange(30.0).reshape(5, 6)
    numerical = analytic.copy()
    numerical[3, 4] += 0.5  # the worst
    numerical[0, 1] += 0.25
    table = GradientComparison.of("dweights", analytic, numerical).table(max_rows=4)
    lines = table.splitlines()
    assert lines[0].split() == ["index", "analytic", "numerical", "|difference|"]
    assert lines[1].startswith("(3, 4)") and lines[2].startswith("(0, 1)")
    assert len(lines) == 1 + 4 + 1 and lines[-1] == "… 26 more"
    everything = GradientComparison.of("dweights", analytic, numerical).table(max_rows=30)
    assert len(everything.splitlines()) == 31 and "more" not in everything


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_gradcheck_refuses_parameters_below_float64(dtype):
    layer = Dense(2, 2, dtype=dtype, rng=0)
    with pytest.raises(TypeError, match="gradcheck needs float64 parameters"):
        cr.gradcheck(layer, np.ones((3, 2)), loss=cr.MeanSquaredError(), y_true=np.ones((3, 2)))
