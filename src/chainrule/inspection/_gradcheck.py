"""Gradient checking: the seed's numerical differentiation, made into a tool.

Backpropagation is only as right as each layer's local derivatives. Central
differences, (f(x + ε) − f(x − ε)) / 2ε, approximate the same gradient with no
calculus at all; if the two agree to ~1e-7 in float64 the derivatives are right.

``gradcheck`` shows its work on request (``report=True``): the analytic and
numerical arrays of every gradient side by side, and the element where they
disagree most, with both values.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..nn import Layer, Loss, SoftmaxCategoricalCrossentropy


class GradcheckError(AssertionError):
    """Raised by ``gradcheck(..., tolerance=...)`` when a gradient disagrees."""


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6):
    """Central-difference gradient of the scalar function ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. ``x`` is perturbed in place, one element at a time,
        and restored, so ``f`` may also read ``x`` through a closure.
    x : float64 array, any shape
        float32 is refused: a step small enough to be accurate is lost in its
        7 significant digits.
    eps : float
        The step ε, finite and > 0.

    Returns
    -------
    ndarray, the shape of ``x``: ∂f/∂x.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        given = f"dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x must be a float64 ndarray (central differences in lower "
                        f"precision lose most digits; use x.astype(np.float64)); got {given}")
    if (isinstance(eps, bool) or not isinstance(eps, numbers.Real)
            or not np.isfinite(eps) or eps <= 0):
        raise ValueError(f"eps must be a finite number > 0 (the step ε); got {eps!r}")
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


@dataclass
class GradientComparison:
    """One gradient, analytic and numerical side by side.

    Attributes
    ----------
    name : str
        ``"dweights"``, ``"layers[2].dbiases"``, ``"dinputs"``, …
    analytic, numerical : ndarray, the parameter's shape
    relative_error : float
        ``relative_error(analytic, numerical)``.
    worst : tuple of int
        The index where |analytic − numerical| is largest.
    """

    name: str
    analytic: np.ndarray
    numerical: np.ndarray
    relative_error: float
    worst: tuple

    @classmethod
    def of(cls, name: str, analytic: np.ndarray, numerical: np.ndarray) -> GradientComparison:
        difference = np.abs(analytic - numerical)
        worst = np.unravel_index(int(np.argmax(difference)), difference.shape)
        return cls(name, analytic, numerical, relative_error(analytic, numerical),
                   tuple(int(i) for i in worst))

    def side_by_side(self) -> np.ndarray:
        """Columns analytic, numerical: (size, 2), one row per element in C order."""
        return np.column_stack([self.analytic.reshape(-1), self.numerical.reshape(-1)])

    def table(self, max_rows: int = 20) -> str:
        """Index, analytic, numerical and difference per element, the worst first."""
        difference = np.abs(self.analytic - self.numerical).reshape(-1)
        order = np.argsort(-difference, kind="stable")[:max_rows]
        lines = [f"{'index':<12} {'analytic':>18} {'numerical':>18} {'|difference|':>14}"]
        for flat in order:
            index = tuple(int(i) for i in np.unravel_index(flat, self.analytic.shape))
            lines.append(f"{index!s:<12} {self.analytic.flat[flat]:>18.10g} "
                         f"{self.numerical.flat[flat]:>18.10g} {difference[flat]:>14.3g}")
        if difference.size > max_rows:
            lines.append(f"… {difference.size - max_rows} more")
        return "\n".join(lines)

    def __str__(self) -> str:
        return (f"{self.name}: relative error {self.relative_error:.3g}; worst at "
                f"{list(self.worst)}: analytic {self.analytic[self.worst]:.10g}, "
                f"numerical {self.numerical[self.worst]:.10g}")


class GradcheckReport(dict):
    """``{gradient name: GradientComparison}``, in backward order, with the worst named."""

    @property
    def max_error(self) -> float:
        return max(comparison.relative_error for comparison in self.values())

    @property
    def worst(self) -> GradientComparison:
        return max(self.values(), key=lambda comparison: comparison.relative_error)

    def __str__(self) -> str:
        return "\n".join(str(comparison) for comparison in self.values())


def gradcheck(
    target,
    inputs: np.ndarray,
    y_true: np.ndarray | None = None,
    *,
    loss=None,
    eps: float = 1e-6,
    tolerance: float | None = None,
    per_parameter: bool = False,
    report: bool = False,
    rng=0,
):
    """Compare analytic gradients with numerical ones.

    Parameters
    ----------
    target : Layer, Loss, SoftmaxCategoricalCrossentropy, a sequence of layers, or a Model
        What to check. A layer alone is checked through the scalar
        L = Σ output ⊙ R for a fixed random R (so ``dvalues = R``); a loss through
        its mean; a sequence of layers (or a Model) through ``loss``. Dropout is
        checked with the mask of the analytic pass held fixed.
    inputs : array (n_samples, n_features)
        Inputs of the layer(s), or predictions for a loss (used in float64).
    y_true : array, optional
        Targets, for a loss, a sequence of layers or a Model.
    loss : Loss, optional
        The loss ending a sequence of layers (a Model brings its own).
    eps : float
        Central-difference step.
    tolerance : float, optional
        If given, raise ``GradcheckError`` naming the worst gradient and its worst
        element (with both values) when its relative error exceeds it.
    per_parameter : bool
        Return ``{"dinputs": err, "dweights": err, ...}`` instead of the maximum.
    report : bool
        Return a ``GradcheckReport``: per gradient, the analytic and numerical
        arrays side by side and the worst element.
    rng : int or Generator
        Seed of the random projection R used for a lone layer.

    Returns
    -------
    float (the maximum relative error), a dict of them by gradient name, or a
    ``GradcheckReport``.
    """
    inputs = np.array(inputs, dtype=np.float64)
    checks = _checks_for(target, inputs, y_true, loss, rng)
    comparisons = GradcheckReport()
    for name, array, analytic, objective in checks:
        numerical = numerical_gradient(lambda _, f=objective: f(), array, eps)
        comparisons[name] = GradientComparison.of(name, analytic, numerical)
    worst = comparisons.worst
    if tolerance is not None and worst.relative_error > tolerance:
        raise GradcheckError(
            f"gradcheck of {target!r}: {worst.name} has relative error "
            f"{worst.relative_error:.3g} > tolerance {tolerance:g}; worst element "
            f"{list(worst.worst)}: analytic {worst.analytic[worst.worst]:.10g}, numerical "
            f"{worst.numerical[worst.worst]:.10g}; all errors: "
            f"{ {name: c.relative_error for name, c in comparisons.items()} }"
        )
    if report:
        return comparisons
    if per_parameter:
        return {name: c.relative_error for name, c in comparisons.items()}
    return worst.relative_error


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
    masks_drawn = False

    def objective():
        output = inputs
        for layer in layers:
            # After the analytic pass, dropout keeps that pass's mask: a new mask for
            # every evaluation would make the numerical gradient measure noise.
            if masks_drawn and hasattr(layer, "forward_with_mask"):
                output = layer.forward_with_mask(output)
            else:
                output = layer.forward(output, training=True)
        return _loss_value(loss, output, y_true)

    # One forward and backward pass gives every analytic gradient.
    objective()
    masks_drawn = True
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
