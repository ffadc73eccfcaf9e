import numpy as np
import pytest

from chainrule import CategoricalAccuracy, RegressionAccuracy


def test_categorical_accuracy_with_indices_and_one_hot():
    predictions = np.array([0, 2, 1, 1])
    labels = np.array([0, 1, 1, 1])
    assert CategoricalAccuracy().calculate(predictions, labels) == 0.75
    assert CategoricalAccuracy().calculate(predictions, np.eye(3)[labels]) == 0.75


def test_binary_accuracy_compares_elementwise():
    predictions = np.array([[1, 0], [0, 0], [1, 1]])
    targets = np.array([[1, 1], [0, 0], [1, 0]])
    assert CategoricalAccuracy(binary=True).calculate(predictions, targets) == pytest.approx(4 / 6)


def test_regression_accuracy_precision_is_std_over_250_computed_once():
    y = np.linspace(0, 1, 101).reshape(-1, 1)
    metric = RegressionAccuracy()
    metric.init(y)
    precision = float(np.std(y)) / 250
    assert metric.precision == pytest.approx(precision)
    metric.init(y * 100)  # not recomputed without reinit
    assert metric.precision == pytest.approx(precision)
    predictions = y + np.where(np.arange(101) % 2 == 0, precision / 2, precision * 2).reshape(-1, 1)
    assert metric.calculate(predictions, y) == pytest.approx(51 / 101)
    metric.init(y * 100, reinit=True)
    assert metric.precision == pytest.approx(precision * 100)


def test_fixed_precision_is_kept():
    metric = RegressionAccuracy(precision=0.5)
    metric.init(np.arange(10.0))
    assert metric.precision == 0.5
    assert metric.calculate(np.array([0.4, 2.0]), np.array([0.0, 0.0])) == 0.5


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="cannot be compared"):
        CategoricalAccuracy().calculate(np.array([0, 1, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="precision"):
        RegressionAccuracy(precision=-1)
