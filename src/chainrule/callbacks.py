"""Callbacks: code that runs at fixed points of training, without touching its math.

The Model calls each callback's hooks in order; a hook reads the model and the
figures of the moment (``logs``) and may act on them — stop training, change
the learning rate, keep the best weights. The training loop itself stays the
same for every callback::

    on_train_begin
        on_epoch_begin(epoch)
            on_batch_begin(step) … forward, backward, optimizer step … on_batch_end(step)
        on_epoch_end(epoch, logs)       # logs: loss, accuracy, val_loss, …
    on_train_end

A callback stops training by setting ``model.stop_training = True``.
"""

from __future__ import annotations

import math

from ._checks import check_nonnegative, check_positive_int


class Callback:
    """Base class: every hook does nothing. ``self.model`` is the Model being trained."""

    model = None

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Before the first epoch."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """After the last epoch (also when a callback stopped training early)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Before epoch ``epoch`` (counted from 1, as the book prints it)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """After epoch ``epoch``; ``logs`` holds that epoch's figures (and validation's)."""

    def on_batch_begin(self, step: int, logs: dict | None = None) -> None:
        """Before the step ``step`` of the epoch (counted from 0, as the book prints it)."""

    def on_batch_end(self, step: int, logs: dict | None = None) -> None:
        """After the optimizer updated the parameters for step ``step``."""

    def get_state(self) -> dict:
        """What a checkpoint must keep to resume this callback exactly (JSON-able)."""
        return {}

    def set_state(self, state: dict) -> None:
        """Restore what ``get_state`` returned."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def overrides(callback: Callback, hook: str) -> bool:
    """Whether ``callback`` defines ``hook`` itself: the loop skips per-step no-ops."""
    return getattr(type(callback), hook) is not getattr(Callback, hook)


class EarlyStopping(Callback):
    """Stop when a monitored figure has stopped improving.

    Parameters
    ----------
    monitor : str
        A key of the epoch's logs: ``"val_loss"`` (the default), ``"loss"``,
        ``"val_accuracy"``, … Figures named ``*accuracy`` improve upwards, the
        others downwards.
    patience : int
        Epochs without improvement tolerated before stopping.
    min_delta : float
        The smallest change that counts as an improvement.
    restore_best_weights : bool
        At the end, put back the parameters of the best epoch.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 restore_best_weights: bool = False):
        if not isinstance(monitor, str):
            raise TypeError(f"EarlyStopping monitor must be a str; got {monitor!r}")
        self.monitor = monitor
        self.patience = check_positive_int("EarlyStopping patience", patience, allow_zero=True)
        self.min_delta = check_nonnegative("EarlyStopping min_delta", min_delta)
        self.restore_best_weights = bool(restore_best_weights)
        self.higher_is_better = monitor.endswith("accuracy")
        self._reset()

    def _reset(self) -> None:
        self.best = -math.inf if self.higher_is_better else math.inf
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None) -> None:
        if self.model.epoch == 0:
            self._reset()

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitor {self.monitor!r} is not among this "
                             f"epoch's figures {sorted(logs)}"
                             + (" (give validation_data or validation_split)"
                                if self.monitor.startswith("val_") else ""))
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.best_epoch, self.wait = float(value), epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_parameters()
            return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_parameters(self.best_weights)

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.higher_is_better:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def get_state(self) -> dict:
        state = {"best": self.best if math.isfinite(self.best) else None,
                 "best_epoch": self.best_epoch, "wait": self.wait,
                 "stopped_epoch": self.stopped_epoch}
        if self.best_weights is not None:
            # Arrays travel in the checkpoint's array members, not in its JSON header.
            state["arrays"] = {f"{i}.{j}": array for i, params in enumerate(self.best_weights)
                               for j, array in enumerate(params)}
        return state

    def set_state(self, state: dict) -> None:
        best = state.get("best")
        worst = -math.inf if self.higher_is_better else math.inf
        self.best = worst if best is None else float(best)
        self.best_epoch = int(state.get("best_epoch", 0))
        self.wait = int(state.get("wait", 0))
        self.stopped_epoch = int(state.get("stopped_epoch", 0))
        arrays = state.get("arrays")
        self.best_weights = None
        if arrays:
            layers = sorted({int(key.split(".")[0]) for key in arrays})
            self.best_weights = [
                tuple(arrays[key] for key in sorted(
                    (k for k in arrays if int(k.split(".")[0]) == i),
                    key=lambda k: int(k.split(".")[1])))
                for i in layers]

    def __repr__(self) -> str:
        return (f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience}, "
                f"min_delta={self.min_delta}, restore_best_weights={self.restore_best_weights})")
