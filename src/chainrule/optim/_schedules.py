"""Learning-rate schedules: the factor of the base rate as a pure function of the step.

A schedule knows nothing of training: ``schedule.factor_at(t)`` (or ``schedule(t)``)
is the factor of the optimizer's ``learning_rate`` at step ``t``, the number of
updates made so far. Putting one in ``train``'s ``callbacks`` applies it there
(through ``chainrule.training.LearningRateScheduler``, the callback that owns the
factor: the way Keras keeps ``optimizers.schedules`` apart from
``callbacks.LearningRateScheduler``). How the factor composes with the book's
decay and with other learning-rate callbacks is said in ``training``'s
``LearningRateCallback``.
"""

from __future__ import annotations

import math

from .._checks import check_nonnegative, check_positive, check_positive_int, describe

__all__ = ["CosineDecay", "ExponentialDecay", "LambdaSchedule", "LinearWarmup", "StepDecay"]


class LambdaSchedule:
    """The learning rate as a function of the step: ``learning_rate × function(t)``.

    As PyTorch's ``LambdaLR``: ``function(t)`` returns a factor (a number ≥ 0) of
    the base rate, for the step ``t`` = ``optimizer.iterations`` (0 for the first).

    Parameters
    ----------
    function : callable ``int → float``
        e.g. ``lambda t: 0.5 ** (t // 1000)``.
    """

    def __init__(self, function):
        if not callable(function):
            raise TypeError(f"LambdaSchedule function must be callable (step → factor); got "
                            f"{describe(function)}")
        self.function = function

    def factor_at(self, step: int) -> float:
        """The factor of the rate at step ``step``."""
        return self.function(step)

    def __call__(self, step: int) -> float:
        return self.factor_at(step)

    def __repr__(self) -> str:
        return f"LambdaSchedule({getattr(self.function, '__name__', self.function)!s})"


class StepDecay(LambdaSchedule):
    """Multiply the rate by ``gamma`` every ``step_size`` steps: ``gamma ** (t // step_size)``."""

    def __init__(self, step_size: int, gamma: float = 0.1):
        self.step_size = check_positive_int("StepDecay step_size", step_size)
        self.gamma = check_positive("StepDecay gamma", gamma)

    def factor_at(self, step: int) -> float:
        return self.gamma ** (step // self.step_size)

    def __repr__(self) -> str:
        return f"StepDecay(step_size={self.step_size}, gamma={self.gamma})"


class ExponentialDecay(LambdaSchedule):
    """A smooth exponential decay: ``decay_rate ** (t / decay_steps)`` (Keras' schedule),
    so the rate is multiplied by ``decay_rate`` every ``decay_steps`` steps."""

    def __init__(self, decay_steps: int, decay_rate: float):
        self.decay_steps = check_positive_int("ExponentialDecay decay_steps", decay_steps)
        self.decay_rate = check_positive("ExponentialDecay decay_rate", decay_rate)

    def factor_at(self, step: int) -> float:
        return self.decay_rate ** (step / self.decay_steps)

    def __repr__(self) -> str:
        return f"ExponentialDecay(decay_steps={self.decay_steps}, decay_rate={self.decay_rate})"


class CosineDecay(LambdaSchedule):
    """Half a cosine from 1 down to ``alpha`` over ``decay_steps`` steps, then ``alpha``:
    ``alpha + (1 − alpha) · ½ · (1 + cos(π · min(t, decay_steps) / decay_steps))``."""

    def __init__(self, decay_steps: int, alpha: float = 0.0):
        self.decay_steps = check_positive_int("CosineDecay decay_steps", decay_steps)
        self.alpha = check_nonnegative("CosineDecay alpha", alpha)
        if self.alpha > 1:
            raise ValueError(f"CosineDecay alpha (the final factor) must be in [0, 1]; "
                             f"got {alpha!r}")

    def factor_at(self, step: int) -> float:
        progress = min(step, self.decay_steps) / self.decay_steps
        return self.alpha + (1 - self.alpha) * 0.5 * (1 + math.cos(math.pi * progress))

    def __repr__(self) -> str:
        return f"CosineDecay(decay_steps={self.decay_steps}, alpha={self.alpha})"


class LinearWarmup(LambdaSchedule):
    """Ramp the rate up linearly over the first ``warmup_steps`` steps:
    ``min(1, (t + 1) / warmup_steps)`` — the first step already moves, at 1/warmup_steps
    of the rate. Put another schedule beside it to decay afterwards (their product)."""

    def __init__(self, warmup_steps: int):
        self.warmup_steps = check_positive_int("LinearWarmup warmup_steps", warmup_steps)

    def factor_at(self, step: int) -> float:
        return min(1.0, (step + 1) / self.warmup_steps)

    def __repr__(self) -> str:
        return f"LinearWarmup(warmup_steps={self.warmup_steps})"
