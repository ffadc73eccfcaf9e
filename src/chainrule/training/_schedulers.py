"""Learning-rate callbacks: ``LearningRateScheduler`` applies a schedule, ``ReduceLROnPlateau``
watches a figure.

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

from .._checks import check_nonnegative, check_positive, check_positive_int, describe
from ..optim import LambdaSchedule
from ._callbacks import Callback, missing_monitor, upwards

__all__ = ["LearningRateCallback", "LearningRateScheduler", "ReduceLROnPlateau"]


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


class LearningRateScheduler(LearningRateCallback):
    """Apply a schedule (``chainrule.optim``'s, or any ``step → factor`` callable) at
    every step: the rate is ``learning_rate × schedule(t)`` for ``t`` =
    ``optimizer.iterations`` (as Keras' callback of the same name, with a factor).

    A schedule put directly in ``train``'s ``callbacks`` is applied by one of these.
    """

    def __init__(self, schedule):
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler schedule must be callable (step → factor); "
                            f"got {describe(schedule)}")
        self.schedule = schedule

    def on_batch_begin(self, step, logs=None) -> None:
        t = self.model.optimizer.iterations
        factor = self.schedule(t)
        if (isinstance(factor, bool) or not isinstance(factor, numbers.Real)
                or not math.isfinite(factor) or factor < 0):
            raise ValueError(f"{self.schedule!r} must give a finite factor >= 0 of the learning "
                             f"rate; at step {t} it gave {factor!r}")
        self.factor = float(factor)
        apply_factors(self.model)

    def __repr__(self) -> str:
        return f"LearningRateScheduler({self.schedule!r})"


def as_callback(entry):
    """A schedule in ``callbacks`` becomes the callback that applies it; others stay."""
    return LearningRateScheduler(entry) if isinstance(entry, LambdaSchedule) else entry


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
