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
