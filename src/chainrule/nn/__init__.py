"""The math: layers, activations, losses, metrics and normalization.

Each layer owns its forward pass and its local derivatives (``backward``,
``jacobian``, ``local_rule``); a loss turns outputs and targets into a number and
starts the backward pass; a metric scores predictions. Nothing here knows of
optimizers, training, files or the command line.

May import: NumPy and the package's ground floor (``_checks``, ``_random``,
``_kernels``). Imported by everything above it.
"""

from ._activations import LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from ._buffers import Buffered
from ._layer import Layer, diagonal_jacobian, get_default_dtype, set_default_dtype
from ._layers import INITS, Dense, Dropout, Input
from ._losses import (
    EPS,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    SigmoidBinaryCrossentropy,
    SoftmaxCategoricalCrossentropy,
    fused_loss_for,
)
from ._metrics import Accuracy, CategoricalAccuracy, RegressionAccuracy
from ._normalization import Normalization

__all__ = [
    "EPS", "INITS", "Accuracy", "BinaryCrossentropy", "Buffered", "CategoricalAccuracy",
    "CategoricalCrossentropy", "Dense", "Dropout", "Input", "Layer", "LeakyReLU", "Linear",
    "Loss", "MeanAbsoluteError", "MeanSquaredError", "Normalization", "ReLU",
    "RegressionAccuracy", "Sigmoid", "SigmoidBinaryCrossentropy", "Softmax",
    "SoftmaxCategoricalCrossentropy", "Tanh", "diagonal_jacobian", "fused_loss_for",
    "get_default_dtype", "set_default_dtype"
]
