import numpy as np
import pytest
from conftest import GRAD_TOL, probabilities

import chainrule as cr
from chainrule import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Dense,
    MeanAbsoluteError,
    MeanSquaredError,
    SoftmaxCategoricalCrossentropy,
)

BATCHES = [(1, 2), (5, 3), (8, 1), (4, 7)]


def one_hot(labels, k):
    return np.eye(k)[labels]


@pytest.mark.parametrize("n, k, targets", [(n, k, t) for n, k in BATCHES
                                            for t in ("indices", "one-hot")
                                            if k > 1 or t == "one-hot"], ids=str)
def test_categorical_crossentropy_gradient(n, k, targets, rng):
    labels = rng.integers(0, k, size=n)
    y = labels if targets == "indices" else one_hot(labels, k)
    y_pred = probabilities(rng, (n, k)) if k > 1 else rng.uniform(0.2, 0.8, size=(n, 1))
    assert cr.gradcheck(CategoricalCrossentropy(), y_pred, y) < GRAD_TOL


@pytest.mark.parametrize("n, k", [b for b in BATCHES if b[1] > 1], ids=str)
@pytest.mark.parametrize("targets", ["indices", "one-hot"])
def test_fused_softmax_crossentropy_gradient(n, k, targets, rng):
    labels = rng.integers(0, k, size=n)
    y = labels if targets == "indices" else one_hot(labels, k)
    assert cr.gradcheck(SoftmaxCategoricalCrossentropy(), rng.normal(size=(n, k)), y) < GRAD_TOL


@pytest.mark.parametrize("n, k", BATCHES, ids=str)
def test_binary_crossentropy_gradient(n, k, rng):
    y = rng.integers(0, 2, size=(n, k))
    assert cr.gradcheck(BinaryCrossentropy(), rng.uniform(0.05, 0.95, (n, k)), y) < GRAD_TOL


@pytest.mark.parametrize("n, k", BATCHES, ids=str)
@pytest.mark.parametrize("loss", [MeanSquaredError, MeanAbsoluteError], ids=["mse", "mae"])
def test_regression_loss_gradients(loss, n, k, rng):
    y = rng.normal(size=(n, k))
    # Predictions at least 0.1 from the targets: MAE has a kink where they are equal.
    y_pred = y + rng.uniform(0.1, 1.0, (n, k)) * rng.choice([-1, 1], (n, k))
    assert cr.gradcheck(loss(), y_pred, y) < GRAD_TOL


def test_fused_backward_equals_the_chained_one(rng):
    logits, labels = rng.normal(size=(6, 4)), rng.integers(0, 4, 6)
    fused = SoftmaxCategoricalCrossentropy()
    fused.forward(logits, labels)
    fused.backward(fused.output, labels)
    softmax, cce = cr.Softmax(), CategoricalCrossentropy()
    softmax.forward(logits)
    softmax.backward(cce.backward(softmax.output, labels))
    np.testing.assert_allclose(fused.dinputs, softmax.dinputs, rtol=1e-10, atol=1e-14)


def test_crossentropy_reference_values():
    y_pred = np.array([[0.7, 0.1, 0.2], [0.1, 0.5, 0.4], [0.02, 0.9, 0.08]])
    labels = np.array([0, 1, 1])
    expected = -np.log([0.7, 0.5, 0.9])
    cce = CategoricalCrossentropy()
    np.testing.assert_allclose(cce.forward(y_pred, labels), expected)
    np.testing.assert_allclose(cce.forward(y_pred, one_hot(labels, 3)), expected)
    assert cce.calculate(y_pred, labels) == pytest.approx(expected.mean())
    assert isinstance(cce.calculate(y_pred, labels), float)


def test_other_losses_reference_values():
    p = np.array([[0.8, 0.4], [0.3, 0.6]])
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    bce = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p), axis=1)
    np.testing.assert_allclose(BinaryCrossentropy().forward(p, y), bce)
    np.testing.assert_allclose(MeanSquaredError().forward(p, y), np.mean((y - p) ** 2, axis=1))
    np.testing.assert_allclose(MeanAbsoluteError().forward(p, y), np.mean(np.abs(y - p), axis=1))


def test_column_of_labels_is_handled_not_broadcast():
    y_pred = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]])
    flat, column = np.array([0, 1, 1]), np.array([[0], [1], [1]])
    cce = CategoricalCrossentropy()
    np.testing.assert_array_equal(cce.forward(y_pred, column), cce.forward(y_pred, flat))
    np.testing.assert_array_equal(cce.backward(y_pred, column), cce.backward(y_pred, flat))
    y = np.array([1.0, 2.0, 3.0])
    preds = np.array([[1.5], [2.0], [2.0]])
    mse = MeanSquaredError()
    assert mse.calculate(preds, y) == pytest.approx((0.25 + 0 + 1) / 3)


@pytest.mark.parametrize(
    "y_true, error, message",
    [
        pytest.param(np.array([0, 1, 3]), ValueError, r"\[0, 2\].*3", id="out-of-range"),
        pytest.param(np.array([0, -1, 1]), ValueError, r"\[0, 2\].*-1", id="negative"),
        pytest.param(np.array([0.0, 1.0, 1.0]), TypeError, "integer dtype", id="float-labels"),
        pytest.param(np.array([0.5, 1.0, 1.0]), TypeError, "integer dtype", id="fractional"),
        pytest.param(np.array([True, False, True]), TypeError, "integer dtype", id="bool-labels"),
        pytest.param(np.array([0, 1]), ValueError, "3 labels.*got 2", id="too-few"),
        pytest.param(np.ones((3, 2)), ValueError, r"\(3, 3\); got \(3, 2\)", id="one-hot-width"),
        pytest.param(np.ones((3, 3, 1)), ValueError, "got shape", id="3-d"),
    ],
)
def test_crossentropy_refuses_bad_labels(y_true, error, message):
    y_pred = np.full((3, 3), 1 / 3)
    for call in (CategoricalCrossentropy().forward, CategoricalCrossentropy().backward,
                 SoftmaxCategoricalCrossentropy().backward):
        with pytest.raises(error, match=message):
            call(y_pred, y_true)


def test_regression_losses_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match=r"predictions' shape \(4, 2\); got \(4,\)"):
        MeanSquaredError().forward(np.ones((4, 2)), np.ones(4))
    with pytest.raises(ValueError, match=r"got \(4, 1\)"):
        BinaryCrossentropy().backward(np.full((4, 3), 0.5), np.ones((4, 1)))


def test_losses_refuse_nan_predictions():
    with pytest.raises(ValueError, match="finite"):
        MeanSquaredError().forward(np.array([[np.nan]]), np.array([[0.0]]))


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_crossentropies_at_exact_zero_and_one_are_finite(p):
    y_pred = np.array([[p, 1 - p], [1 - p, p]])
    labels = np.array([0, 1])
    cce = CategoricalCrossentropy()
    assert np.isfinite(cce.forward(y_pred, labels)).all()
    assert np.isfinite(cce.backward(y_pred, labels)).all()
    bce = BinaryCrossentropy()
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert np.isfinite(bce.forward(y_pred, y)).all()
    assert np.isfinite(bce.backward(y_pred, y)).all()
    assert cce.forward(np.array([[0.0, 1.0]]), np.array([0]))[0] == pytest.approx(-np.log(1e-7))


def test_regularization_loss_of_one_layer_and_of_several():
    a = Dense(2, 2, weight_regularizer_l1=0.1, bias_regularizer_l2=0.5, dtype=np.float64)
    a.weights[:] = [[1.0, -2.0], [0.5, 0.0]]
    a.biases[:] = [[1.0, -3.0]]
    b = Dense(2, 1, weight_regularizer_l2=0.2, dtype=np.float64)
    b.weights[:] = [[2.0], [1.0]]
    loss = CategoricalCrossentropy()
    assert loss.regularization_loss(a) == pytest.approx(0.1 * 3.5 + 0.5 * 10.0)
    assert loss.regularization_loss([a, b]) == pytest.approx(0.35 + 5.0 + 0.2 * 5.0)
    loss.remember_trainable_layers([a, b])
    data, reg = loss.calculate(np.array([[0.5, 0.5]]), np.array([0]), include_regularization=True)
    assert data == pytest.approx(np.log(2)) and reg == pytest.approx(6.35)


def test_fused_loss_keeps_the_books_attributes(rng):
    fused = SoftmaxCategoricalCrossentropy()
    assert isinstance(fused.loss, CategoricalCrossentropy)
    assert isinstance(fused.activation, cr.Softmax)
    loss = fused.forward(rng.normal(size=(3, 4)), np.array([0, 1, 2]))
    assert isinstance(loss, float)
    np.testing.assert_allclose(fused.output.sum(axis=1), 1.0)
