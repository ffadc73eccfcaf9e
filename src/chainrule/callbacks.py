"""``chainrule.callbacks``: the callbacks, as the README and the book import them.

A short public module: the callbacks live in ``chainrule.training``, the schedules
they apply in ``chainrule.optim``.
"""

from .optim import CosineDecay, ExponentialDecay, LambdaSchedule, LinearWarmup, StepDecay
from .training import (
    Callback,
    CSVLogger,
    EarlyStopping,
    GradientMonitor,
    LearningRateCallback,
    LearningRateScheduler,
    ReduceLROnPlateau,
    overrides,
)

__all__ = ["CSVLogger", "Callback", "CosineDecay", "EarlyStopping", "ExponentialDecay",
           "GradientMonitor", "LambdaSchedule", "LearningRateCallback", "LearningRateScheduler",
           "LinearWarmup", "ReduceLROnPlateau", "StepDecay", "overrides"]
