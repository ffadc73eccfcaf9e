"""chainrule: neural networks from scratch in NumPy.

Every layer owns its forward pass and its local derivatives; backpropagation is
the chain rule applied layer by layer, in plain sight.
"""

from . import callbacks, datasets
from ._kernels import kernels, use_kernels
from .activations import LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from .callbacks import (
    Callback,
    CosineDecay,
    CSVLogger,
    EarlyStopping,
    ExponentialDecay,
    LambdaSchedule,
    LinearWarmup,
    ReduceLROnPlateau,
    StepDecay,
)
from .explain import Explanation, explain
from .gradcheck import GradcheckError, gradcheck, numerical_gradient
from .io import ModelFileError
from .layers import Dense, Dropout, Input, Layer, get_default_dtype, set_default_dtype
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
from .normalization import Normalization
from .optimizers import SGD, Adagrad, Adam, Optimizer, RMSprop

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "Accuracy",
    "Adagrad",
    "Adam",
    "BinaryCrossentropy",
    "CSVLogger",
    "Callback",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CosineDecay",
    "Dense",
    "Dropout",
    "EarlyStopping",
    "Explanation",
    "ExponentialDecay",
    "GradcheckError",
    "Input",
    "LambdaSchedule",
    "Layer",
    "LeakyReLU",
    "Linear",
    "LinearWarmup",
    "Loss",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Model",
    "ModelFileError",
    "Normalization",
    "Optimizer",
    "RMSprop",
    "ReLU",
    "ReduceLROnPlateau",
    "RegressionAccuracy",
    "Sigmoid",
    "Softmax",
    "SoftmaxCategoricalCrossentropy",
    "StepDecay",
    "Tanh",
    "TrainingDiverged",
    "callbacks",
    "datasets",
    "explain",
    "get_default_dtype",
    "gradcheck",
    "kernels",
    "numerical_gradient",
    "set_default_dtype",
    "use_kernels",
]


def __getattr__(name: str):
    # chainrule.plotting is imported on first use: it is the optional matplotlib corner,
    # and `import chainrule` stays NumPy only.
    if name == "plotting":
        import importlib

        return importlib.import_module(".plotting", __name__)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
