"""The book's and the seed's class names, as chainrule's classes.

Code written for "Neural Networks from Scratch in Python" runs on chainrule
with its own class definitions deleted and one line added::

    from chainrule.nnfs import *

Most names are aliases (``Activation_ReLU is ReLU``). ``Layer_Dense`` and
``Layer_Dropout`` are small subclasses that take the book's arguments: the
regularisers positionally, and ``Layer_Dropout(0.1).rate == 0.9``, the book's
keep rate. ``Model`` is a subclass whose ``train`` keeps the data's order, as the
book's does. ``Layer_Input`` is ``chainrule.Input``.

The name ``nnfs`` is this module, so a script's ``nnfs.init()`` keeps working:
it seeds NumPy's global generator, as the package's ``init`` does, but — unlike
the package — never replaces NumPy functions (chainrule is float32 by default
without that patch). A script that still imports the package keeps running
without it installed, with two lines changed::

    import nnfs                                  →  import chainrule.nnfs as nnfs
    from nnfs.datasets import spiral_data        →  from chainrule.nnfs.datasets import spiral_data
"""

from __future__ import annotations

import sys

import numpy as np

from ..datasets import sine_data, spiral_data, vertical_data
from ..nn import (
    Accuracy,
    BinaryCrossentropy,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    Input,
    Linear,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    RegressionAccuracy,
    ReLU,
    Sigmoid,
    Softmax,
    SoftmaxCategoricalCrossentropy,
    Tanh,
)
from ..optim import SGD, Adagrad, Adam, RMSprop
from ..training import Model as _Model
from . import datasets


class Layer_Dense(Dense):
    """``Dense`` with the book's signature: the four regularisers may be positional,
    ``Layer_Dense(2, 64, 0, 5e-4, 0, 5e-4)``."""

    def __init__(self, n_inputs, n_neurons, weight_regularizer_l1=0.0,
                 weight_regularizer_l2=0.0, bias_regularizer_l1=0.0, bias_regularizer_l2=0.0,
                 **options):
        super().__init__(n_inputs, n_neurons, weight_regularizer_l1=weight_regularizer_l1,
                         weight_regularizer_l2=weight_regularizer_l2,
                         bias_regularizer_l1=bias_regularizer_l1,
                         bias_regularizer_l2=bias_regularizer_l2, **options)


class Layer_Dropout(Dropout):
    """The book's dropout: ``Layer_Dropout(0.1)`` drops 10 % of the units and, as the
    book does, stores the fraction *kept* in ``rate`` (0.9). chainrule's own
    ``Dropout`` keeps the clearer meaning: ``Dropout(0.1).rate == 0.1``."""

    def __init__(self, rate, **options):
        super().__init__(rate, **options)
        self.dropped = self.rate
        self.rate = 1 - self.dropped

    def keep_probability(self) -> float:
        return self.rate

    def config(self) -> dict:
        return {"rate": self.dropped}


class Model(_Model):
    """The book's ``Model``: chainrule's, except that ``train`` takes the batches in the
    order of the data (``shuffle=False``), as the book's does — its chapter 19 shuffles
    the samples once, before training. Pass ``shuffle=True`` for a new order every epoch,
    as ``chainrule.Model`` does by default."""

    def train(self, X, y, epochs=1, batch_size=None, validation_data=None, print_every=1,
              shuffle=False, **options):
        """Train as :meth:`chainrule.Model.train` does, with the book's defaults.

        ``shuffle=False`` (the batches in the order of the data) and ``print_every=1``;
        every other argument, and the history returned, are
        :meth:`chainrule.Model.train`'s.
        """
        return super().train(X, y, epochs=epochs, batch_size=batch_size,
                             validation_data=validation_data, print_every=print_every,
                             shuffle=shuffle, **options)


Layer_Input = Input
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


nnfs = sys.modules[__name__]

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
    "Layer_Input",
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
    "datasets",
    "init",
    "nnfs",
    "np",
    "sine_data",
    "spiral_data",
    "vertical_data",
]
