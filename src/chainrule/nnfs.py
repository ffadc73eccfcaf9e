"""The book's and the seed's class names, as aliases of chainrule's classes.

Code written for "Neural Networks from Scratch in Python" runs on chainrule
with its own class definitions deleted and one line added::

    from chainrule.nnfs import *

The name ``nnfs`` is exported too, so a script's ``nnfs.init()`` keeps working:
it seeds NumPy's global generator, as the package's ``init`` does, but — unlike
the package — never replaces NumPy functions. chainrule is float32 by default
without that patch.
"""

from __future__ import annotations

import types

import numpy as np

from . import datasets as _datasets
from .activations import Linear, ReLU, Sigmoid, Softmax, Tanh
from .datasets import sine_data, spiral_data, vertical_data
from .layers import Dense, Dropout
from .losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    SoftmaxCategoricalCrossentropy,
)
from .metrics import Accuracy, CategoricalAccuracy, RegressionAccuracy
from .model import Model
from .optimizers import SGD, Adagrad, Adam, RMSprop

Layer_Dense = Dense
Layer_Dropout = Dropout
Activation_ReLU = ReLU
Activation_Softmax = Softmax
Activation_Sigmoid = Sigmoid
Activation_Linear = Linear
Activation_Tanh = Tanh
Loss_CategoricalCrossentropy = CategoricalCrossentropy
Loss_CategoricalCrossEntropy = CategoricalCrossentropy
Activation_Softmax_Loss_CategoricalCrossentropy = SoftmaxCategoricalCrossentropy
Loss_BinaryCrossentropy = BinaryCrossentropy
Loss_MeanSquaredError = MeanSquaredError
Loss_MeanAbsoluteError = MeanAbsoluteError
Optimizer_SGD = SGD
Optimizer_Adagrad = Adagrad
Optimizer_RMSprop = RMSprop
Optimizer_Adam = Adam
Accuracy_Categorical = CategoricalAccuracy
Accuracy_Regression = RegressionAccuracy


def init(dot_precision_workaround=True, default_dtype="float32", random_seed=0) -> None:
    """The book's ``nnfs.init()``: seed NumPy's global generator with ``random_seed``.

    The other arguments are accepted for compatibility and ignored: chainrule
    does not patch ``np.dot``, ``np.zeros`` or ``np.random.randn``.
    """
    if random_seed is not None:
        np.random.seed(random_seed)


nnfs = types.SimpleNamespace(init=init, datasets=_datasets)

__all__ = [
    "Accuracy",
    "Accuracy_Categorical",
    "Accuracy_Regression",
    "Activation_Linear",
    "Activation_ReLU",
    "Activation_Sigmoid",
    "Activation_Softmax",
    "Activation_Softmax_Loss_CategoricalCrossentropy",
    "Activation_Tanh",
    "Layer_Dense",
    "Layer_Dropout",
    "Loss",
    "Loss_BinaryCrossentropy",
    "Loss_CategoricalCrossEntropy",
    "Loss_CategoricalCrossentropy",
    "Loss_MeanAbsoluteError",
    "Loss_MeanSquaredError",
    "Model",
    "Optimizer_Adagrad",
    "Optimizer_Adam",
    "Optimizer_RMSprop",
    "Optimizer_SGD",
    "init",
    "nnfs",
    "np",
    "sine_data",
    "spiral_data",
    "vertical_data",
]
