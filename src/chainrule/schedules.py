"""Learning-rate callbacks: schedules of the step, and ``ReduceLROnPlateau``.

None of them touches ``optimizer.learning_rate``, the base rate you chose:
``config()``, model files and checkpoints see the optimizer as you built it,
so a run resumes from its checkpoint exactly. Each callback owns a *factor*
instead, and the rate of every step is ::

    current_learning_rate = learning_rate × (1 / (1 + decay · iterations)) × factor

— the book's decay, times ``optimizer.learning_rate_factor``, which is the
product of the factors of every learning-rate callback in the ``callbacks``
list. So a warm-up and a cosine decay compose (their product), a schedule and
``ReduceLROnPlateau`` compose, and all of them compose with ``decay``, for
every optimizer. The step ``t`` of a schedule is ``optimizer.iterations``, the
number of updates made so far (one per batch: ⌈n_samples / batch_size⌉ an
epoch, one an epoch without ``batch_size``); it carries on across ``train``
calls and checkpoints. While training, ``history["lr"]`` records the rate of
each epoch's last step. When training ends the factor goes back to 1: the
optimizer is again the one you built (and the one a saved file holds).
"""

from __future__ import annotations

import math
import numbers

from ._checks import check_nonnegative, check_positive, check_positive_int, describe
from .callbacks import Callback, missing_monitor, upwards

__all__ = ["CosineDecay", "ExponentialDecay", "LambdaSchedule", "LearningRateCallback",
           "LinearWarmup", "ReduceLROnPlateau", "StepDecay"]


class LearningRateCallback(Callback):
    """Base class: a callback that owns ``factor``, one factor of the learning rate."""

    factor = 1.0

    def on_train_begin(self, logs=None) -> None:
        apply_factors(self.model)

    def on_train_end(self, logs=None) -> None:
        self.model.optimizer.learning_rate_factor = 1.0
        _set_rate(self.model.optimizer)


def apply_factors(model) -> float:
    """Set the optimizer's ``learning_rate_factor`` to the product of the factors of
    the learning-rate callbacks training it, and its rate for the next step; return it."""
    factor = 1.0
    for callback in getattr(model, "callbacks", ()):
        if isinstance(callback, LearningRateCallback):
            factor *= callback.factor
    model.optimizer.learning_rate_factor = factor
    _set_rate(model.optimizer)
    return factor


def _set_rate(optimizer) -> None:
    # pre_update_params computes the rate only when decay or a factor changes it.
    if not optimizer.decay and optimizer.learning_rate_factor == 1.0:
        optimizer.current_learning_rate = optimizer.learning_rate
    optimizer.pre_update_params()


class LambdaSchedule(LearningRateCallback):
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

    def on_batch_begin(self, step, logs=None) -> None:
        t = self.model.optimizer.iterations
        factor = self.factor_at(t)
        if (isinstance(factor, bool) or not isinstance(factor, numbers.Real)
                or not math.isfinite(factor) or factor < 0):
            raise ValueError(f"{self!r} must give a finite factor >= 0 of the learning rate; "
                             f"at step {t} it gave {factor!r}")
        self.factor = float(factor)
        apply_factors(self.model)

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


class ReduceLROnPlateau(LearningRateCallback):
    """Multiply the learning rate by ``factor`` when a figure stops improving.

    After ``patience`` epochs in a row without an improvement of at least
    ``min_delta`` in ``monitor``, this callback's own factor is multiplied by
    ``factor`` (never below ``min_lr / learning_rate``); then it waits ``cooldown``
    epochs before counting again. Figures named ``*accuracy`` improve upwards,
    the others downwards. (Keras' callback of the same name, with the rate kept
    as a factor of the base rate: see the module's docstring.)

    Parameters
    ----------
    monitor : str
        A key of the epoch's logs: ``"val_loss"`` (the default), ``"loss"``, …
    factor : float in (0, 1)
        What the rate is multiplied by at each reduction.
    patience, cooldown : int
        Epochs without improvement before a reduction; epochs of rest after one.
    min_delta : float
        The smallest change that counts as an improvement.
    min_lr : float
        The lowest ``learning_rate × factor`` a reduction goes to (a rate, as in Keras,
        not a factor).
    verbose : bool
        Print a line at each reduction.
    mode : {"auto", "min", "max"}
        Which way is better; ``"auto"``: upwards for ``*accuracy``, downwards otherwise.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 verbose: bool = False, *, mode: str = "auto"):
        if not isinstance(monitor, str):
            raise TypeError(f"ReduceLROnPlateau monitor must be a str; got {describe(monitor)}")
        reduction = check_positive("ReduceLROnPlateau factor", factor)
        if reduction >= 1:
            raise ValueError(f"ReduceLROnPlateau factor must be in (0, 1) (the rate is "
                             f"multiplied by it); got {factor!r}")
        self.monitor, self.reduction = monitor, reduction
        self.patience = check_positive_int("ReduceLROnPlateau patience", patience,
                                           allow_zero=True)
        self.cooldown = check_positive_int("ReduceLROnPlateau cooldown", cooldown,
                                           allow_zero=True)
        self.min_delta = check_nonnegative("ReduceLROnPlateau min_delta", min_delta)
        self.min_lr = check_nonnegative("ReduceLROnPlateau min_lr", min_lr)
        self.verbose = bool(verbose)
        self.mode = mode
        self.higher_is_better = upwards("ReduceLROnPlateau", monitor, mode)
        self._reset()

    def _reset(self) -> None:
        self.factor = 1.0
        self.best = -math.inf if self.higher_is_better else math.inf
        self.wait = self.cooldown_counter = 0

    def on_train_begin(self, logs=None) -> None:
        # A new run starts clean (as Keras'); one resumed from a checkpoint continues.
        if not self._resumed:
            self._reset()
        self._resumed = False
        super().on_train_begin(logs)

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.monitor not in logs:
            raise ValueError(missing_monitor(self, self.monitor, logs))
        value = float(logs[self.monitor])
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                self._reduce(epoch)

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.higher_is_better:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def _reduce(self, epoch: int) -> None:
        floor = self.min_lr / self.model.optimizer.learning_rate
        factor = max(self.factor * self.reduction, floor)
        if factor >= self.factor:
            return  # already at min_lr: as Keras, no reduction, no cooldown
        self.factor = factor
        self.wait = 0
        self.cooldown_counter = self.cooldown
        apply_factors(self.model)
        if self.verbose:
            print(f"ReduceLROnPlateau: epoch {epoch}, {self.monitor} has not improved for "
                  f"{self.patience} epochs; learning rate × {self.factor:g} of "
                  f"{self.model.optimizer.learning_rate:g}")

    def get_state(self) -> dict:
        return {"factor": self.factor, "best": self.best if math.isfinite(self.best) else None,
                "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state: dict) -> None:
        self._resumed = True  # this run continues the checkpoint's: on_train_begin keeps it
        best = state.get("best")
        self.best = (-math.inf if self.higher_is_better else math.inf) if best is None \
            else float(best)
        self.factor = float(state.get("factor", 1.0))
        self.wait = int(state.get("wait", 0))
        self.cooldown_counter = int(state.get("cooldown_counter", 0))

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(monitor={self.monitor!r}, factor={self.reduction}, "
                f"patience={self.patience}, min_delta={self.min_delta}, "
                f"cooldown={self.cooldown}, min_lr={self.min_lr}, mode={self.mode!r})")
