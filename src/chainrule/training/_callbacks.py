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

Before any of them, and before training changes anything, ``check_run(figures)``
lets each callback refuse a run it cannot serve (a ``monitor`` the run will not
log, a folder that does not exist). A callback with state starts every run
clean, as Keras' do; only a run resumed from a checkpoint continues the state
the checkpoint kept (``set_state``).

A callback stops training by setting ``model.stop_training = True``.
"""

from __future__ import annotations

import math
import numbers
import os

from .._checks import check_nonnegative, check_positive_int, describe

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "GradientMonitor", "missing_monitor",
           "overrides", "upwards"]

class Callback:
    """Base class: every hook does nothing. ``self.model`` is the Model being trained."""

    model = None
    _resumed = False  # set by set_state: this run continues a checkpoint's

    def set_model(self, model) -> None:
        """Keep ``model`` as ``self.model``; the Model calls it before training starts."""
        self.model = model

    def check_run(self, figures: tuple[str, ...]) -> None:
        """Refuse, before training changes anything, a run this callback cannot serve.

        ``figures`` are the names of the figures every epoch of the run logs (``loss``,
        ``accuracy``, ``data_loss``, ``reg_loss``, ``lr``, and ``val_loss``,
        ``val_accuracy`` with held-out data). By default a callback with a ``monitor``
        (a str) is refused when the run will not log it.
        """
        monitor = getattr(self, "monitor", None)
        if isinstance(monitor, str) and monitor not in figures:
            raise ValueError(missing_monitor(self, monitor, figures))

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


def missing_monitor(callback: Callback, monitor: str, figures) -> str:
    """The refusal of a ``monitor`` that is not among the run's ``figures``."""
    message = (f"{type(callback).__name__} monitor {monitor!r} is not among the figures this "
               f"run logs {sorted(figures)}")
    held_out = " (give validation_data or validation_split)"
    if monitor.startswith("val_") and monitor[4:] in figures:
        return message + held_out
    candidates = [*figures, *(name for name in ("val_loss", "val_accuracy")
                              if name not in figures)]
    import difflib  # only for this message: `import chainrule` stays light

    close = difflib.get_close_matches(monitor, candidates, n=1)
    if not close:
        return message
    return message + f"; did you mean {close[0]!r}?" + ("" if close[0] in figures else held_out)


def upwards(owner: str, monitor: str, mode) -> bool:
    """Whether higher values of ``monitor`` are better, from ``mode`` ("auto": accuracies)."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner} mode must be 'auto', 'min' or 'max'; got {mode!r}")
    return mode == "max" or (mode == "auto" and monitor.endswith("accuracy"))


def check_finite(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    return float(value)


def overrides(callback: Callback, hook: str) -> bool:
    """Whether ``callback`` defines ``hook`` itself: the loop skips per-step no-ops."""
    return getattr(type(callback), hook) is not getattr(Callback, hook)


class EarlyStopping(Callback):
    """Stop when a monitored figure has stopped improving (Keras' ``EarlyStopping``).

    Every epoch that does not improve on the best value so far by more than
    ``min_delta`` adds one to ``wait``; an improvement sets it back to 0. Training
    stops at the end of the epoch where ``wait`` reaches ``patience`` — after
    ``patience`` epochs in a row without improvement (after one when ``patience``
    is 0 or 1, as in Keras), never on the first epoch.

    Parameters
    ----------
    monitor : str
        A key of the epoch's logs: ``"val_loss"`` (the default), ``"loss"``,
        ``"val_accuracy"``, … It is checked before training starts.
    patience : int
        Epochs in a row without improvement after which training stops.
    min_delta : float
        The smallest change that counts as an improvement.
    restore_best_weights : bool
        At the end, put back the parameters of the best epoch (those of the first
        epoch when no epoch improved).
    mode : {"auto", "min", "max"}
        Which way is better; ``"auto"``: upwards for figures named ``*accuracy``,
        downwards for the others.
    baseline : float, optional
        A value to beat: an epoch improving on the best so far but not on the
        baseline still counts as waiting, so a run that never beats the baseline
        stops after ``patience`` epochs.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 restore_best_weights: bool = False, *, mode: str = "auto",
                 baseline: float | None = None):
        if not isinstance(monitor, str):
            raise TypeError(f"EarlyStopping monitor must be a str; got {monitor!r}")
        self.monitor = monitor
        self.patience = check_positive_int("EarlyStopping patience", patience, allow_zero=True)
        self.min_delta = check_nonnegative("EarlyStopping min_delta", min_delta)
        self.restore_best_weights = bool(restore_best_weights)
        self.mode = mode
        self.higher_is_better = upwards("EarlyStopping", monitor, mode)
        if baseline is not None:
            baseline = check_finite("EarlyStopping baseline", baseline)
        self.baseline = baseline
        self._reset()

    def _reset(self) -> None:
        self.best = -math.inf if self.higher_is_better else math.inf
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None

    def on_train_begin(self, logs=None) -> None:
        if not self._resumed:
            self._reset()
        self._resumed = False

    def on_epoch_end(self, epoch, logs=None) -> None:
        if self.monitor not in logs:
            raise ValueError(missing_monitor(self, self.monitor, logs))
        value = float(logs[self.monitor])
        if self.restore_best_weights and self.best_weights is None:
            # Until an epoch improves, the best weights are the first epoch's.
            self.best_weights, self.best_epoch = self.model.get_parameters(), epoch
        self.wait += 1
        if self._improved(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_parameters()
            # Patience starts again only for a value that also beats the baseline.
            if self.baseline is None or self._improved(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 1:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_parameters(self.best_weights)

    def _improved(self, value: float, reference: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.higher_is_better:
            return value > reference + self.min_delta
        return value < reference - self.min_delta

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
        self._resumed = True  # this run continues the checkpoint's: on_train_begin keeps it
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
                f"min_delta={self.min_delta}, restore_best_weights={self.restore_best_weights}, "
                f"mode={self.mode!r}, baseline={self.baseline})")


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
        The CSV file to write.
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

    def check_run(self, figures) -> None:
        super().check_run(figures)
        folder = os.path.dirname(os.path.abspath(self.filename))
        if not os.path.isdir(folder):
            raise ValueError(f"CSVLogger folder {folder!r} does not exist")
        if os.path.isdir(self.filename):
            raise ValueError(f"CSVLogger filename {self.filename!r} is a folder; give a file path")
        if self._resumed:
            self._check_length(self.offset)
        elif self.append and figures:
            # The columns this run will write, known now: refuse a file of other columns
            # before the first epoch, not after it.
            header = self._existing_header()
            if header is not None and header != ["epoch", *figures]:
                raise ValueError(f"CSVLogger cannot append to {self.filename!r}: its columns "
                                 f"are {header}, this run's {['epoch', *figures]}")

    def on_train_begin(self, logs=None) -> None:
        if self._resumed and self.offset is not None:
            self._cut_to(self.offset)  # resumed: rows after the checkpoint are written again
        else:
            # A new run: a new file, or (append=True) its rows below those already there.
            self.keys = self.offset = None
            if not self.append:
                with open(self.filename, "w", encoding="utf-8"):
                    pass
        self._resumed = False

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

    def _check_length(self, offset: int | None) -> None:
        """A resumed run continues the file only if it still holds the rows it had."""
        if offset is None:
            return
        size = os.path.getsize(self.filename) if os.path.isfile(self.filename) else None
        if size is None or size < offset:
            held = "does not exist" if size is None else f"holds {size} bytes"
            raise ValueError(f"CSVLogger cannot continue {self.filename!r}: it had {offset} "
                             f"bytes at the last epoch logged and now {held}")

    def _cut_to(self, offset: int) -> None:
        self._check_length(offset)
        os.truncate(self.filename, offset)

    def get_state(self) -> dict:
        return {"keys": self.keys, "offset": self.offset}

    def set_state(self, state: dict) -> None:
        self._resumed = True  # this run continues the checkpoint's file
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
