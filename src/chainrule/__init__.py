"""chainrule: neural networks from scratch in NumPy.

Every layer owns its forward pass and its local derivatives; backpropagation is
the chain rule applied layer by layer, in plain sight.
"""

from . import datasets
from .activations import LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from .gradcheck import GradcheckError, gradcheck, numerical_gradient
from .io import ModelFileError
from .layers import Dense, Dropout, Layer
from .losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    SoftmaxCategoricalCrossentropy,
)
from .metrics import Accuracy, CategoricalAccuracy, RegressionAccuracy
from .model import Model, TrainingDiverged
from .optimizers import SGD, Adagrad, Adam, Optimizer, RMSprop

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Accuracy",
    "Adagrad",
    "Adam",
    "BinaryCrossentropy",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "Dense",
    "Dropout",
    "GradcheckError",
    "Layer",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Model",
    "ModelFileError",
    "Optimizer",
    "RMSprop",
    "ReLU",
    "RegressionAccuracy",
    "Sigmoid",
    "Softmax",
    "SoftmaxCategoricalCrossentropy",
    "Tanh",
    "TrainingDiverged",
    "datasets",
    "gradcheck",
    "numerical_gradient",
]
