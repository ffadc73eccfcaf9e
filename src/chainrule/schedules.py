"""``chainrule.schedules``: the learning-rate schedules and the callbacks that apply them.

A short public module: the schedules (pure functions of the step) live in
``chainrule.optim``, the learning-rate callbacks in ``chainrule.training``.
"""

from .optim import CosineDecay, ExponentialDecay, LambdaSchedule, LinearWarmup, StepDecay
from .training import LearningRateCallback, LearningRateScheduler, ReduceLROnPlateau

__all__ = ["CosineDecay", "ExponentialDecay", "LambdaSchedule", "LearningRateCallback",
           "LearningRateScheduler", "LinearWarmup", "ReduceLROnPlateau", "StepDecay"]
