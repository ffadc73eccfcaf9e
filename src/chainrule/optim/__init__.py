"""Optimisation: the optimizers and the learning-rate schedules.

An optimizer reads parameters and their gradients (``layer.params``, ``"d" + name``)
and never a layer's type; its update runs over flat groups of parameters
(``_groups``). A schedule is a pure function of the step: the factor of the base
learning rate at step ``t``. The callback that applies a schedule while training
lives in ``training``.

May import: ``nn`` and the ground floor. Imported by ``files``, ``training`` and above.
"""

from ._groups import MASTER
from ._optimizers import SGD, Adagrad, Adam, Optimizer, RMSprop
from ._schedules import CosineDecay, ExponentialDecay, LambdaSchedule, LinearWarmup, StepDecay

__all__ = ["MASTER", "SGD", "Adagrad", "Adam", "CosineDecay", "ExponentialDecay",
           "LambdaSchedule", "LinearWarmup", "Optimizer", "RMSprop", "StepDecay"]
