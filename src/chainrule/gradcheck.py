"""Gradient checking: the seed's numerical differentiation, made into a tool.

Backpropagation is only as right as each layer's local derivatives. Central
differences, (f(x + ε) − f(x − ε)) / 2ε, approximate the same gradient with no
calculus at all; if the two agree to ~1e-7 in float64 the derivatives are right.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .layers import Layer
from .losses import Loss, SoftmaxCategoricalCrossentropy


class GradcheckError(AssertionError):
    """Raised by ``gradcheck(..., tolerance=...)`` when a gradient disagrees."""


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6):
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. ``x`` is perturbed in place, one element at a time,
        and restored, so ``f`` may also read ``x`` through a closure.
    x : float array, any shape
    eps : float
        The step ε.

    Returns
    -------
    ndarray, the shape of ``x``: ∂f/∂x.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"x must be a floating-point ndarray; got {type(x).__name__}")
    grad = np.zeros(x.shape, dtype=np.float64)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat_x, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    for i in range(flat_x.size):
        original = flat_x[i]
        flat_x[i] = original + eps
        f_plus = float(f(x))
        flat_x[i] = original - eps
        f_minus = float(f(x))
        flat_x[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """max|a − n| / max(max|a|, max|n|): the error relative to the gradient's scale.

    Zero when both are zero; scale-free, and not fooled by elements that are
    tiny because of cancellation.
    """
    scale = max(float(np.max(np.abs(analytic), initial=0)),
                float(np.max(np.abs(numerical), initial=0)))
    if scale == 0:
        return 0.0
    return float(np.max(np.abs(analytic - numerical))) / scale


def gradcheck(
    target,
    inputs: np.ndarray,
    y_true: np.ndarray | None = None,
    *,
    loss=None,
    eps: float = 1e-6,
    tolerance: float | None = None,
    per_parameter: bool = False,
    rng=0,
):
    """Compare analytic gradients with numerical ones.

    Parameters
    ----------
    target : Layer, Loss, SoftmaxCategoricalCrossentropy, a sequence of layers, or a Model
        What to check. A layer alone is checked through the scalar
        L = Σ output ⊙ R for a fixed random R (so ``dvalues = R``); a loss through
        its mean; a sequence of layers (or a Model) through ``loss``.
    inputs : float64 array (n_samples, n_features)
        Inputs of the layer(s), or predictions for a loss.
    y_true : array, optional
        Targets, for a loss, a sequence of layers or a Model.
    loss : Loss, optional
        The loss ending a sequence of layers (a Model brings its own).
    eps : float
        Central-difference step.
    tolerance : float, optional
        If given, raise ``GradcheckError`` naming the worst gradient when its
        relative error exceeds it.
    per_parameter : bool
        Return ``{"dinputs": err, "dweights": err, ...}`` instead of the maximum.
    rng : int or Generator
        Seed of the random projection R used for a lone layer.

    Returns
    -------
    float (the maximum relative error), or a dict of them by gradient name.
    """
    inputs = np.array(inputs, dtype=np.float64)
    checks = _checks_for(target, inputs, y_true, loss, rng)
    errors = {}
    for name, array, analytic, objective in checks:
        numerical = numerical_gradient(lambda _, f=objective: f(), array, eps)
        errors[name] = relative_error(analytic, numerical)
    worst = max(errors, key=errors.get)
    if tolerance is not None and errors[worst] > tolerance:
        raise GradcheckError(
            f"gradcheck of {target!r}: {worst} has relative error {errors[worst]:.3g} "
            f"> tolerance {tolerance:g}; all errors: {errors}"
        )
    return errors if per_parameter else errors[worst]


def _checks_for(target, inputs, y_true, loss, rng):
    """(name, array to perturb, analytic gradient, objective) for each gradient."""
    if isinstance(target, Layer):
        return _layer_checks([target], inputs, _ProjectionLoss(rng), None)
    if isinstance(target, (Loss, SoftmaxCategoricalCrossentropy)):
        return _loss_checks(target, inputs, y_true)
    layers = getattr(target, "layers", target)
    loss = getattr(target, "loss", None) or loss
    if not isinstance(layers, Sequence) or loss is None:
        raise TypeError(
            "gradcheck target must be a Layer, a Loss, or layers with a loss "
            f"(gradcheck(layers, X, y, loss=...)); got {target!r}"
        )
    return _layer_checks(list(layers), inputs, loss, y_true)


def _require_float64(layers) -> None:
    for layer in layers:
        for name in layer.params:
            if getattr(layer, name).dtype != np.float64:
                raise TypeError(
                    f"gradcheck needs float64 parameters; {layer!r}.{name} is "
                    f"{getattr(layer, name).dtype} (build it with dtype=np.float64)"
                )


def _loss_value(loss, output, y_true) -> float:
    if isinstance(loss, SoftmaxCategoricalCrossentropy):
        return loss.forward(output, y_true)
    return loss.calculate(output, y_true) + loss.regularization_loss()


def _layer_checks(layers, inputs, loss, y_true):
    _require_float64(layers)
    if isinstance(loss, Loss):
        loss.remember_trainable_layers([layer for layer in layers if layer.params])

    def objective():
        output = inputs
        for layer in layers:
            output = layer.forward(output, training=True)
        return _loss_value(loss, output, y_true)

    # One forward and backward pass gives every analytic gradient.
    objective()
    if isinstance(loss, SoftmaxCategoricalCrossentropy):
        dvalues = loss.backward(loss.output, y_true)
    else:
        dvalues = loss.backward(layers[-1].output, y_true)
    for layer in reversed(layers):
        dvalues = layer.backward(dvalues)

    checks = [("dinputs", inputs, layers[0].dinputs.copy(), objective)]
    for index, layer in enumerate(layers):
        prefix = f"layers[{index}]." if len(layers) > 1 else ""
        for name in layer.params:
            gradient = getattr(layer, "d" + name).copy()
            checks.append((prefix + "d" + name, getattr(layer, name), gradient, objective))
    return checks


def _loss_checks(loss, y_pred, y_true):
    if isinstance(loss, SoftmaxCategoricalCrossentropy):
        loss.forward(y_pred, y_true)
        analytic = loss.backward(loss.output, y_true).copy()
    else:
        analytic = loss.backward(y_pred, y_true).copy()
    return [("dinputs", y_pred, analytic, lambda: _loss_value(loss, y_pred, y_true))]


class _ProjectionLoss(Loss):
    """L = Σ output ⊙ R for a fixed random R, so that ∂L/∂output = R.

    A random R exercises every output element with a different weight, which
    a plain sum would not (a softmax's outputs always sum to 1, for example).
    """

    def __init__(self, rng):
        self.rng = np.random.default_rng(rng)
        self.projection = None

    def _r(self, shape):
        if self.projection is None or self.projection.shape != shape:
            self.projection = self.rng.standard_normal(shape)
        return self.projection

    def calculate(self, output, y=None, *, include_regularization=False):
        return float(np.sum(output * self._r(output.shape)))

    def backward(self, dvalues, y_true=None):
        return self._r(dvalues.shape).copy()
