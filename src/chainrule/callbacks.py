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
import os

from ._checks import check_nonnegative, check_positive_int, describe


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


class GradientMonitor(Callback):
    """Watch the gradients: per epoch and per trainable layer, how big they are and how
    far each step moves the parameters.

    After every optimizer step it measures, for each trainable layer (all its
    parameters together):

    * the gradient norm ‖∂L/∂θ‖ — in a deep sigmoid network it shrinks layer by
      layer towards the input (vanishing gradients), in a ReLU network it does not;
    * the update-to-parameter ratio ‖Δθ‖ / ‖θ‖ — how far the step moved the
      parameters relative to their size (around 1e-3 is the usual healthy figure;
      much smaller, the layer barely learns; much larger, training is unstable).

    Each epoch records the mean over its steps.

    Attributes
    ----------
    labels : list of str
        One per trainable layer, with its first parameter's shape: ``"layers[0] Dense(2, 64)"``.
    grad_norms, update_ratios : dict of str → list of float
        By label, one value per epoch.
    epochs : list of int
        The epochs recorded.
    """

    def __init__(self):
        self.labels: list[str] = []
        self.grad_norms: dict[str, list[float]] = {}
        self.update_ratios: dict[str, list[float]] = {}
        self.epochs: list[int] = []

    def on_train_begin(self, logs=None) -> None:
        self._layers = [(f"layers[{i}] {type(layer).__name__}"
                         f"{getattr(layer, layer.params[0]).shape}", layer)
                        for i, layer in enumerate(self.model.layers) if layer.params]
        for label, _ in self._layers:
            if label not in self.grad_norms:
                self.labels.append(label)
                self.grad_norms[label], self.update_ratios[label] = [], []
        # One array per parameter, reused every step for the values before the update.
        self._before = {(label, name): getattr(layer, name).copy()
                        for label, layer in self._layers for name in layer.params}

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self._sums = {label: [0.0, 0.0] for label, _ in self._layers}
        self._steps = 0

    def on_batch_begin(self, step, logs=None) -> None:
        for label, layer in self._layers:
            for name in layer.params:
                self._before[(label, name)][...] = getattr(layer, name)

    def on_batch_end(self, step, logs=None) -> None:
        for label, layer in self._layers:
            gradient = update = size = 0.0
            for name in layer.params:
                param = getattr(layer, name).ravel()
                grad = getattr(layer, "d" + name).ravel()
                step_taken = self._before[(label, name)].ravel()
                step_taken -= param  # θ_before − θ_after = −Δθ, in place
                gradient += float(grad @ grad)
                update += float(step_taken @ step_taken)
                size += float(param @ param)
            self._sums[label][0] += math.sqrt(gradient)
            self._sums[label][1] += math.sqrt(update / size) if size > 0 else 0.0
        self._steps += 1

    def on_epoch_end(self, epoch, logs=None) -> None:
        if not self._steps:
            return
        self.epochs.append(epoch)
        for label, (gradient, ratio) in self._sums.items():
            self.grad_norms[label].append(gradient / self._steps)
            self.update_ratios[label].append(ratio / self._steps)

    def get_state(self) -> dict:
        return {"labels": list(self.labels), "epochs": list(self.epochs),
                "grad_norms": {k: list(v) for k, v in self.grad_norms.items()},
                "update_ratios": {k: list(v) for k, v in self.update_ratios.items()}}

    def set_state(self, state: dict) -> None:
        self.labels = list(state.get("labels", []))
        self.epochs = [int(epoch) for epoch in state.get("epochs", [])]
        self.grad_norms = {k: [float(x) for x in v]
                           for k, v in state.get("grad_norms", {}).items()}
        self.update_ratios = {k: [float(x) for x in v]
                              for k, v in state.get("update_ratios", {}).items()}


class CSVLogger(Callback):
    """Write the history to a CSV file as it grows: one row per epoch.

    The header is ``epoch`` and the keys of the first epoch's logs (``loss``,
    ``accuracy``, ``data_loss``, ``reg_loss``, ``lr``, ``val_loss``, …); numbers
    are written as Python's shortest exact form, so they read back to the same
    floats. Each row is appended and flushed when its epoch ends, so the file is
    complete up to the last finished epoch whenever training stops. The state a
    checkpoint keeps is the file's length at that epoch: a run resumed from the
    checkpoint first cuts off any row written after it, then appends the same
    rows an uninterrupted run would.

    Parameters
    ----------
    filename : str or path
    separator : str
        Between the fields (``","`` by default).
    append : bool
        Keep the rows already in the file (a new run's rows go below them)
        instead of starting a new file.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"CSVLogger filename must be a file path; got {describe(filename)}")
        if not isinstance(separator, str) or len(separator) != 1 or separator in "\r\n\"":
            raise ValueError(f"CSVLogger separator must be one character (not a quote or a "
                             f"line break); got {separator!r}")
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)
        self.keys: list[str] | None = None
        self.offset: int | None = None  # the file's length after the last row written

    def on_train_begin(self, logs=None) -> None:
        folder = os.path.dirname(os.path.abspath(self.filename))
        if not os.path.isdir(folder):
            raise ValueError(f"CSVLogger folder {folder!r} does not exist")
        if self.offset is not None:
            self._cut_to(self.offset)  # resumed: rows after the checkpoint are written again
        elif not self.append:
            with open(self.filename, "w", encoding="utf-8"):
                pass
            self.keys = None

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.keys is None:
            self.keys = ["epoch", *logs]
            header = self._existing_header()
            if header is not None and header != self.keys:
                raise ValueError(f"CSVLogger cannot append to {self.filename!r}: its columns "
                                 f"are {header}, this run's {self.keys}")
            lines = [] if header is not None else [self.keys]
        else:
            lines = []
        values = {"epoch": epoch, **logs}
        lines.append([_field(values.get(key, "")) for key in self.keys])
        text = "".join(self.separator.join(line) + "\n" for line in lines)
        with open(self.filename, "a", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            self.offset = f.tell()

    def _existing_header(self) -> list[str] | None:
        """The first line of a non-empty file, split into names; None for an empty file."""
        if not os.path.exists(self.filename) or os.path.getsize(self.filename) == 0:
            return None
        with open(self.filename, encoding="utf-8") as f:
            return f.readline().rstrip("\n").split(self.separator)

    def _cut_to(self, offset: int) -> None:
        size = os.path.getsize(self.filename) if os.path.exists(self.filename) else None
        if size is None or size < offset:
            held = "does not exist" if size is None else f"holds {size} bytes"
            raise ValueError(f"CSVLogger cannot continue {self.filename!r}: it had {offset} "
                             f"bytes at the last epoch logged and now {held}")
        os.truncate(self.filename, offset)

    def get_state(self) -> dict:
        return {"keys": self.keys, "offset": self.offset}

    def set_state(self, state: dict) -> None:
        keys, offset = state.get("keys"), state.get("offset")
        self.keys = None if keys is None else [str(key) for key in keys]
        self.offset = None if offset is None else int(offset)

    def __repr__(self) -> str:
        return f"CSVLogger({self.filename!r}, separator={self.separator!r}, append={self.append})"


def _field(value) -> str:
    """Python's shortest exact form of a number (``repr``): it reads back to the same float."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


# The learning-rate callbacks live in their own module and build on Callback above; they
# are importable from here too, beside the other callbacks.
from .schedules import (  # noqa: E402
    CosineDecay,
    ExponentialDecay,
    LambdaSchedule,
    LearningRateCallback,
    LinearWarmup,
    ReduceLROnPlateau,
    StepDecay,
)

__all__ = ["CSVLogger", "Callback", "CosineDecay", "EarlyStopping", "ExponentialDecay",
           "GradientMonitor", "LambdaSchedule", "LearningRateCallback", "LinearWarmup",
           "ReduceLROnPlateau", "StepDecay", "overrides"]
