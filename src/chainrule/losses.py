"""Losses: turn predictions and targets into a number, and start the backward pass.

``forward(y_pred, y_true)`` returns one loss per sample; ``calculate`` averages
them; ``backward(dvalues, y_true)`` returns ∂L/∂y_pred for the *mean* loss, so
every gradient is divided by the number of samples.
"""

from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_labels, check_targets
from .activations import Softmax

# Predictions are kept inside [EPS, 1 − EPS] so that log(0) and 1/0 never happen.
EPS = 1e-7


class Loss:
    """Base class: averaging, regularization and the book's ``calculate``."""

    trainable_layers: list = ()

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dvalues: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def calculate(self, output, y, *, include_regularization: bool = False):
        """Mean loss over samples.

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
        sample_losses = self.forward(output, y)
        data_loss = float(np.mean(sample_losses))
        if not include_regularization:
            return data_loss
        return data_loss, self.regularization_loss()

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
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _check_predictions(loss: Loss, y_pred) -> np.ndarray:
    return as_float_array(f"{type(loss).__name__} y_pred", y_pred)


class CategoricalCrossentropy(Loss):
    """−log of the probability given to the correct class.

    ``y_true``: integer class indices ``(n,)`` (or a column ``(n, 1)``) or
    one-hot targets ``(n, n_classes)``.
    """

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """``y_pred`` (n, n_classes) probabilities → per-sample losses (n,)."""
        y_pred = _check_predictions(self, y_pred)
        y_true = check_labels("y_true", y_true, *y_pred.shape)
        y_pred_clipped = np.clip(y_pred, EPS, 1 - EPS)
        if y_true.ndim == 1:
            correct_confidences = y_pred_clipped[np.arange(len(y_pred)), y_true]
        else:
            correct_confidences = np.sum(y_pred_clipped * y_true, axis=1)
        return -np.log(correct_confidences)

    def backward(self, dvalues: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """∂(−log p_c)/∂p = −y/p for the one-hot y, divided by the sample count."""
        dvalues = _check_predictions(self, dvalues)
        y_true = check_labels("y_true", y_true, *dvalues.shape)
        samples = len(dvalues)
        # Clipped like the forward pass, so a prediction of exactly 0 gives a finite gradient.
        clipped = np.clip(dvalues, EPS, 1 - EPS)
        if y_true.ndim == 1:
            rows = np.arange(samples)
            self.dinputs = np.zeros_like(clipped)
            self.dinputs[rows, y_true] = -1 / clipped[rows, y_true]
        else:
            self.dinputs = -y_true / clipped
        self.dinputs /= samples
        return self.dinputs


class SoftmaxCategoricalCrossentropy:
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
        dvalues = _check_predictions(self, dvalues)
        y_true = check_labels("y_true", y_true, *dvalues.shape)
        samples = len(dvalues)
        self.dinputs = dvalues.copy()
        if y_true.ndim == 1:
            self.dinputs[np.arange(samples), y_true] -= 1
        else:
            self.dinputs -= y_true
        self.dinputs /= samples
        return self.dinputs

    def __repr__(self) -> str:
        return "SoftmaxCategoricalCrossentropy()"


class BinaryCrossentropy(Loss):
    """Cross-entropy of independent 0/1 outputs, averaged over the outputs of a sample.

    ``y_true``: 0/1 targets with the predictions' shape ``(n, k)``.
    """

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """``y_pred`` (n, k) probabilities → per-sample losses (n,)."""
        y_pred = _check_predictions(self, y_pred)
        y_true = check_targets("y_true", y_true, y_pred.shape)
        p = np.clip(y_pred, EPS, 1 - EPS)
        sample_losses = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        return np.mean(sample_losses, axis=-1)

    def backward(self, dvalues: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """∂L/∂p = −(y/p − (1 − y)/(1 − p)), over outputs and samples."""
        dvalues = _check_predictions(self, dvalues)
        y_true = check_targets("y_true", y_true, dvalues.shape)
        samples, outputs = dvalues.shape
        p = np.clip(dvalues, EPS, 1 - EPS)
        self.dinputs = -(y_true / p - (1 - y_true) / (1 - p)) / (outputs * samples)
        return self.dinputs


class MeanSquaredError(Loss):
    """Mean of (y − ŷ)² over a sample's outputs. ``y_true`` has the predictions' shape."""

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """``y_pred`` (n, k) → per-sample losses (n,)."""
        y_pred = _check_predictions(self, y_pred)
        y_true = check_targets("y_true", y_true, y_pred.shape)
        return np.mean((y_true - y_pred) ** 2, axis=-1)

    def backward(self, dvalues: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """∂(y − ŷ)²/∂ŷ = −2(y − ŷ), over outputs and samples."""
        dvalues = _check_predictions(self, dvalues)
        y_true = check_targets("y_true", y_true, dvalues.shape)
        samples, outputs = dvalues.shape
        self.dinputs = -2 * (y_true - dvalues) / (outputs * samples)
        return self.dinputs


class MeanAbsoluteError(Loss):
    """Mean of |y − ŷ| over a sample's outputs. ``y_true`` has the predictions' shape."""

    def forward(self, y_pred: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """``y_pred`` (n, k) → per-sample losses (n,)."""
        y_pred = _check_predictions(self, y_pred)
        y_true = check_targets("y_true", y_true, y_pred.shape)
        return np.mean(np.abs(y_true - y_pred), axis=-1)

    def backward(self, dvalues: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """∂|y − ŷ|/∂ŷ = sign(ŷ − y), over outputs and samples."""
        dvalues = _check_predictions(self, dvalues)
        y_true = check_targets("y_true", y_true, dvalues.shape)
        samples, outputs = dvalues.shape
        self.dinputs = np.sign(dvalues - y_true) / (outputs * samples)
        return self.dinputs
