"""chainrule: neural networks from scratch in NumPy.

Every layer owns its forward pass and its local derivatives; backpropagation is
the chain rule applied layer by layer, in plain sight.
"""

from . import callbacks, datasets, schedules  # noqa: F401  (chainrule.schedules)
from ._kernels import kernels, use_kernels
from ._version import __version__  # noqa: F401  (chainrule.__version__)
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
from .files import ModelFileError
from .inspection import Explanation, GradcheckError, explain, gradcheck, numerical_gradient
from .nn import (
    Accuracy,
    BinaryCrossentropy,
    CategoricalAccuracy,
    CategoricalCrossentropy,
    Dense,
    Dropout,
    Input,
    Layer,
    LeakyReLU,
    Linear,
    Loss,
    MeanAbsoluteError,
    MeanSquaredError,
    Normalization,
    RegressionAccuracy,
    ReLU,
    Sigmoid,
    Softmax,
    SoftmaxCategoricalCrossentropy,
    Tanh,
    get_default_dtype,
    set_default_dtype,
)
from .optim import SGD, Adagrad, Adam, Optimizer, RMSprop
from .training import Model, TrainingDiverged

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
