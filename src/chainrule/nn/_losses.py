"""Losses: turn predictions and targets into a number, and start the backward pass.

``forward(y_pred, y_true)`` returns one loss per sample; ``calculate`` averages
them; ``backward(dvalues, y_true)`` returns ∂L/∂y_pred for the *mean* loss, so
every gradient is divided by the number of samples.

The public methods check their arguments and then call the math, which lives in
``sample_losses`` and ``gradient``; the Model, having checked its data once,
calls those two directly in its training loop.
"""

from __future__ import annotations

import numpy as np

from .. import _kernels
from .._checks import as_float_array, check_labels, check_targets
from ._activations import Sigmoid, Softmax
from ._buffers import Buffered

# Predictions are kept inside [EPS, 1 − EPS] so that log(0) and 1/0 never happen.
EPS = 1e-7


def _clip(predictions: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``np.clip(predictions, EPS, 1 − EPS)`` into ``out``, as two plain ufunc calls
    (np.clip's Python layer costs more than the clipping on a small batch)."""
    np.maximum(predictions, EPS, out=out)
    return np.minimum(out, 1 - EPS, out=out)


class Loss(Buffered):
    """Base class: checking, averaging, regularization and the book's ``calculate``.

    Like the book's ``Loss``, every ``calculate`` also adds its per-sample losses
    to a running sum, so that ``calculate_accumulated`` gives the mean over all
    the batches since ``new_pass`` — an epoch's loss, weighted by sample.
    """

    trainable_layers: list = ()
    accumulated_sum: float = 0.0
    accumulated_count: int = 0

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """Per-sample losses (n_samples,) of predictions ``y_pred`` (n_samples, k)."""
        y_pred = self._check_predictions("y_pred", y_pred)
        return self.sample_losses(y_pred, self.check_targets(y_true, y_pred.shape))

    def backward(self, dvalues: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """∂(mean loss)/∂y_pred, (n_samples, k); also stored as ``dinputs``."""
        dvalues = self._check_predictions("dvalues", dvalues)
        self.dinputs = self.gradient(dvalues, self.check_targets(y_true, dvalues.shape))
        return self.dinputs

    def _check_predictions(self, name: str, values) -> np.ndarray:
        values = as_float_array(f"{type(self).__name__} {name}", values)
        if len(values) == 0:
            raise ValueError(f"{type(self).__name__} {name} is empty: a loss needs at least "
                             "one sample")
        return values

    def new_pass(self) -> None:
        """Start a new running sum for ``calculate_accumulated`` (the book's name)."""
        self.accumulated_sum = 0.0
        self.accumulated_count = 0

    def accumulate(self, sample_losses: np.ndarray) -> float:
        """Add per-sample losses to the running sum; return their mean."""
        total = float(np.add.reduce(sample_losses))
        self.accumulated_sum += total
        self.accumulated_count += len(sample_losses)
        return total / len(sample_losses)

    def calculate_accumulated(self, *, include_regularization: bool = False):
        """Mean loss over every sample since ``new_pass`` (with the penalty, if asked)."""
        if self.accumulated_count == 0:
            raise ValueError(f"{type(self).__name__}.calculate_accumulated: no losses since "
                             "new_pass(); call calculate(...) first")
        data_loss = self.accumulated_sum / self.accumulated_count
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def calculate(self, output, y, *, include_regularization: bool = False):
        """Mean loss over samples (also added to the running sum).

        Parameters
        ----------
        output : array (n_samples, k)
            Predictions.
        y : array
            Targets (see the subclass).
        include_regularization : bool
            Also return the regularization penalty of the remembered layers.

        Returns
        -------
        float, or (data_loss, regularization_loss) when ``include_regularization``.
        """
        data_loss = self.accumulate(self.forward(output, y))
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

    def check_targets(self, y_true, shape: tuple) -> np.ndarray:
        """Refuse targets that do not fit predictions of ``shape`` (overridden per loss)."""
        return check_targets("y_true", y_true, shape)

    def sample_losses(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """The math of ``forward``, trusting its inputs."""
        raise NotImplementedError

    def gradient(self, dvalues: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """The math of ``backward``, trusting its inputs."""
        raise NotImplementedError

    def remember_trainable_layers(self, trainable_layers) -> None:
        """Keep the layers whose penalties ``regularization_loss()`` sums (the book's step)."""
        self.trainable_layers = list(trainable_layers)

    def regularization_loss(self, layer_or_layers=None) -> float:
        """Sum of the L1/L2 penalties of one layer, several, or the remembered ones."""
        if layer_or_layers is None:
            layers = self.trainable_layers
        elif isinstance(layer_or_layers, (list, tuple)):
            layers = layer_or_layers
        else:
            layers = [layer_or_layers]
        return float(sum(layer.regularization_loss() for layer in layers
                         if hasattr(layer, "regularization_loss")))

    def config(self) -> dict:
        """Settings that rebuild this loss: ``type(loss)(**loss.config())``."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def local_rule(self) -> str:
        """The derivative ∂L/∂ŷ this loss's ``backward`` computes, in words."""
        return f"{type(self).__name__}: ∂L/∂ŷ as backward() computes it"


class CategoricalCrossentropy(Loss):
    """Cross-entropy −Σ_k y_k·log p_k: for a class index, −log of the probability
    given to the correct class.

    ``y_true``: integer class indices ``(n,)`` (or a column ``(n, 1)``), or target
    distributions ``(n, n_classes)`` whose rows sum to 1 — one-hot rows, or soft
    targets such as label smoothing's.
    """

    def check_targets(self, y_true, shape):
        return check_labels("y_true", y_true, *shape)

    def sample_losses(self, y_pred, y_true):
        """``y_pred`` (n, n_classes) probabilities → per-sample losses (n,)."""
        samples = len(y_pred)
        column = self._buffer("losses", (samples, 1), y_pred.dtype)
        if y_true.ndim == 2 and (kernels := _kernels.fast(y_pred, y_true, column)) is not None:
            # The target-row lines below, compiled: one pass, one log per one-hot row.
            kernels.crossentropy_losses(y_pred, y_true, column.reshape(samples), EPS, 1 - EPS)
            return column.reshape(samples)
        clipped = _clip(y_pred, self._buffer("clipped", y_pred.shape, y_pred.dtype))
        if y_true.ndim == 1:
            correct_confidences = clipped[np.arange(samples), y_true]
            losses = np.log(correct_confidences, out=correct_confidences)
            return np.negative(losses, out=losses)
        # Target rows: −Σ_k y_k·log p_k, the row sums of y ⊙ log p written as a product
        # with a column of ones. (For one-hot rows this is −log of the correct class's
        # probability; for soft targets it is not −log Σ_k y_k·p_k.)
        log_p = np.log(clipped, out=clipped)
        log_p *= y_true
        ones = self._constant(1, (y_pred.shape[1], 1), log_p.dtype)
        losses = np.matmul(log_p, ones, out=column).reshape(samples)
        return np.negative(losses, out=losses)

    def gradient(self, dvalues, y_true):
        """∂(−Σ y·log p)/∂p = −y/p, divided by the sample count."""
        samples = len(dvalues)
        # Clipped like the forward pass, so a prediction of exactly 0 gives a finite gradient.
        dinputs = _clip(dvalues, self._buffer("dinputs", dvalues.shape, dvalues.dtype))
        if y_true.ndim == 1:
            rows = np.arange(samples)
            correct = dinputs[rows, y_true]
            dinputs[...] = 0
            dinputs[rows, y_true] = -1 / correct
        else:
            np.divide(y_true, dinputs, out=dinputs)
            np.negative(dinputs, out=dinputs)
        dinputs /= samples
        return dinputs

    def local_rule(self) -> str:
        return ("CategoricalCrossentropy: ∂L/∂ŷ_k = −y_k/ŷ_k / n_samples "
                "(ŷ clipped to [1e-7, 1 − 1e-7])")


class SoftmaxCategoricalCrossentropy(Buffered):
    """Softmax followed by categorical cross-entropy, with the fused backward pass.

    Chaining ∂L/∂s = −y/s through the softmax Jacobian collapses to
    ∂L/∂z = s − y: cheaper and exact, which is why the Model uses it whenever
    the last layer is ``Softmax`` and the loss ``CategoricalCrossentropy``.
    """

    def __init__(self):
        self.activation = Softmax()
        self.loss = CategoricalCrossentropy()

    def forward(self, inputs: np.ndarray, y_true: np.ndarray) -> float:
        """``inputs`` (n, n_classes) logits → mean loss; stores ``output`` (probabilities)."""
        self.output = self.activation.forward(inputs)
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """``dvalues`` are the softmax outputs; returns (s − y) / n_samples."""
        dvalues = self.loss._check_predictions("dvalues", dvalues)
        self.dinputs = self.gradient(dvalues, check_labels("y_true", y_true, *dvalues.shape))
        return self.dinputs

    def gradient(self, dvalues, y_true):
        """(s − y) / n for probabilities ``dvalues`` (n, n_classes), trusting its inputs."""
        samples = len(dvalues)
        dinputs = self._buffer("dinputs", dvalues.shape, dvalues.dtype)
        if y_true.ndim == 2 and (kernels := _kernels.fast(dvalues, y_true, dinputs)) is not None:
            kernels.softmax_crossentropy_gradient(dvalues, y_true, dinputs)  # the lines below
            return dinputs
        if y_true.ndim == 1:
            np.copyto(dinputs, dvalues)
            dinputs[np.arange(samples), y_true] -= 1
        else:
            np.subtract(dvalues, y_true, out=dinputs)
        dinputs /= samples
        return dinputs

    def __repr__(self) -> str:
        return "SoftmaxCategoricalCrossentropy()"

    def local_rule(self) -> str:
        """Softmax and cross-entropy together: the rule ``backward`` uses."""
        return "softmax + cross-entropy: ∂L/∂z = (p − y) / n_samples"


class BinaryCrossentropy(Loss):
    """Cross-entropy of independent 0/1 outputs, averaged over the outputs of a sample.

    ``y_true``: targets in [0, 1] with the predictions' shape ``(n, k)``.
    """

    def check_targets(self, y_true, shape):
        y_true = check_targets("y_true", y_true, shape)
        if y_true.size and (y_true.min() < 0 or y_true.max() > 1):
            raise ValueError("BinaryCrossentropy y_true must hold targets in [0, 1]; got values "
                             f"from {y_true.min()} to {y_true.max()}")
        return y_true

    def sample_losses(self, y_pred, y_true):
        """``y_pred`` (n, k) probabilities → per-sample losses (n,)."""
        p = np.clip(y_pred, EPS, 1 - EPS)
        sample_losses = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        return np.mean(sample_losses, axis=-1)

    def gradient(self, dvalues, y_true):
        """∂L/∂p = −(y/p − (1 − y)/(1 − p)), over outputs and samples."""
        samples, outputs = dvalues.shape
        p = np.clip(dvalues, EPS, 1 - EPS)
        return -(y_true / p - (1 - y_true) / (1 - p)) / (outputs * samples)

    def local_rule(self) -> str:
        return ("BinaryCrossentropy: ∂L/∂ŷ = −(y/ŷ − (1 − y)/(1 − ŷ)) / (n_outputs·n_samples)")


class SigmoidBinaryCrossentropy(Buffered):
    """Sigmoid followed by binary cross-entropy, with the fused backward pass.

    Chaining ∂L/∂σ = −(y/σ − (1 − y)/(1 − σ)) through σ' = σ(1 − σ) collapses to
    ∂L/∂z = σ − y (per output, over outputs and samples), as for softmax + cross-entropy.
    The chain divides by 1 − σ, which float32 rounds to an ulp or two once |z| > 16, and
    takes its slope at the loss's clip, so a confidently wrong sample loses its gradient;
    σ − y has neither problem. The Model uses it for a ``Sigmoid`` last layer and a
    ``BinaryCrossentropy`` loss (the forward loss, with its clip, is unchanged).
    """

    def __init__(self):
        self.activation = Sigmoid()
        self.loss = BinaryCrossentropy()

    def forward(self, inputs: np.ndarray, y_true: np.ndarray) -> float:
        """``inputs`` (n, k) logits → mean loss; stores ``output`` (probabilities)."""
        self.output = self.activation.forward(inputs)
        return self.loss.calculate(self.output, y_true)

    def backward(self, dvalues: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """``dvalues`` are the sigmoid outputs; returns (σ − y) / (n_outputs·n_samples)."""
        dvalues = self.loss._check_predictions("dvalues", dvalues)
        self.dinputs = self.gradient(dvalues, self.loss.check_targets(y_true, dvalues.shape))
        return self.dinputs

    def gradient(self, dvalues, y_true):
        """(σ − y) / (k·n) for probabilities ``dvalues`` (n, k), trusting its inputs."""
        samples, outputs = dvalues.shape
        dinputs = self._buffer("dinputs", dvalues.shape, dvalues.dtype)
        np.subtract(dvalues, y_true, out=dinputs)
        dinputs /= outputs * samples
        return dinputs

    def __repr__(self) -> str:
        return "SigmoidBinaryCrossentropy()"

    def local_rule(self) -> str:
        """Sigmoid and binary cross-entropy together: the rule ``backward`` uses."""
        return "sigmoid + binary cross-entropy: ∂L/∂z = (σ − y) / (n_outputs·n_samples)"


def fused_loss_for(last_layer, loss):
    """The fused last layer + loss the Model uses in place of their chained backward
    passes, or None: softmax + cross-entropy, sigmoid + binary cross-entropy.

    Only for the classes' own math: a subclass that changes ``forward`` or ``backward``
    (a temperature softmax, a swish), or a loss that changes its gradient, has another
    derivative than (p − y), and keeps its own chain.
    """
    for layer_class, loss_class, fused in (
            (Softmax, CategoricalCrossentropy, SoftmaxCategoricalCrossentropy),
            (Sigmoid, BinaryCrossentropy, SigmoidBinaryCrossentropy)):
        if (_own_math(last_layer, layer_class, ("forward", "backward"))
                and _own_math(loss, loss_class, ("forward", "backward", "sample_losses",
                                                 "gradient", "calculate"))):
            return fused()
    return None


def _own_math(part, base: type, methods: tuple[str, ...]) -> bool:
    """``part`` is a ``base`` whose ``methods`` are ``base``'s (on its class and itself)."""
    return (isinstance(part, base)
            and all(getattr(type(part), name) is getattr(base, name) for name in methods)
            and not any(name in vars(part) for name in methods))


class MeanSquaredError(Loss):
    """Mean of (y − ŷ)² over a sample's outputs. ``y_true`` has the predictions' shape."""

    def sample_losses(self, y_pred, y_true):
        """``y_pred`` (n, k) → per-sample losses (n,)."""
        errors = self._buffer("errors", y_pred.shape, y_pred.dtype)
        np.subtract(y_true, y_pred, out=errors)
        np.square(errors, out=errors)
        return np.mean(errors, axis=-1, out=self._buffer("losses", (len(y_pred),), y_pred.dtype))

    def gradient(self, dvalues, y_true):
        """∂(y − ŷ)²/∂ŷ = −2(y − ŷ), over outputs and samples."""
        samples, outputs = dvalues.shape
        dinputs = self._buffer("dinputs", dvalues.shape, dvalues.dtype)
        np.subtract(dvalues, y_true, out=dinputs)
        dinputs *= 2 / (outputs * samples)
        return dinputs

    def local_rule(self) -> str:
        return "MeanSquaredError: ∂L/∂ŷ = −2(y − ŷ) / (n_outputs·n_samples)"


class MeanAbsoluteError(Loss):
    """Mean of ``|y − ŷ|`` over a sample's outputs. ``y_true`` has the predictions' shape."""

    def sample_losses(self, y_pred, y_true):
        """``y_pred`` (n, k) → per-sample losses (n,)."""
        return np.mean(np.abs(y_true - y_pred), axis=-1)

    def gradient(self, dvalues, y_true):
        """∂|y − ŷ|/∂ŷ = sign(ŷ − y), over outputs and samples."""
        samples, outputs = dvalues.shape
        return np.sign(dvalues - y_true) / (outputs * samples)

    def local_rule(self) -> str:
        return "MeanAbsoluteError: ∂L/∂ŷ = sign(ŷ − y) / (n_outputs·n_samples)"
