"""The training loop behind ``Model.train``: orchestration only, no calculus.

Each step is the book's: forward through every layer, the loss, backward
through every layer, one optimizer step. Around it this module does what a
user of the book's ``Model`` sees — the summary lines, the accumulated epoch
figures (``loss.calculate_accumulated``) — and what a real tool needs: every
argument checked before anything changes, callbacks, held-out data,
checkpoints that resume exactly, and divergence reported as
``TrainingDiverged`` with the last finite parameters kept.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import _checks, checkpoints
from ._random import as_generator
from .callbacks import Callback, overrides
from .losses import CategoricalCrossentropy
from .progress import Reporter


class TrainingDiverged(FloatingPointError):
    """The loss, a gradient or the parameters became NaN or infinite during training."""


@dataclass
class Plan:
    """Everything ``train`` will do, decided and checked before anything changes."""

    X: np.ndarray
    targets: np.ndarray  # what the loss compares with (one-hot rows for cross-entropy)
    labels: np.ndarray  # what the accuracy compares with
    validation: tuple | None  # (X, targets, labels)
    epochs: int
    batch_size: int | None
    print_every: int | None
    shuffle: bool
    rng: object
    progress: bool | None
    checkpoint: str | None
    callbacks: list = field(default_factory=list)
    resume: object = None  # a Model loaded from the checkpoint to continue from
    signature: dict = field(default_factory=dict)
    last: int = 0  # the last epoch to run

    @property
    def n_steps(self) -> int:
        return 1 if self.batch_size is None else math.ceil(len(self.X) / self.batch_size)


def train(model, X, y, *, epochs=1, batch_size=None, validation_data=None, print_every=1,
          shuffle=True, rng=None, progress=None, checkpoint=None, callbacks=None,
          validation_split=None) -> dict:
    """What ``Model.train`` does; see its docstring."""
    plan = _plan(model, X, y, epochs, batch_size, validation_data, print_every, shuffle, rng,
                 progress, checkpoint, callbacks, validation_split)
    _start(model, plan)
    return _run(model, plan)


# -- checking everything first ------------------------------------------------------------------


def _plan(model, X, y, epochs, batch_size, validation_data, print_every, shuffle, rng,
          progress, checkpoint, callbacks, validation_split) -> Plan:
    if not model._finalized:
        model.finalize()
    if model.optimizer is None:
        raise ValueError("Model has no optimizer: call model.set(optimizer=...) first")
    epochs = _checks.check_positive_int("epochs", epochs, allow_zero=True)
    batch_size = model._check_batch_size(batch_size)
    if print_every is not None:
        print_every = _checks.check_positive_int("print_every", print_every)
    for name, value in (("shuffle", shuffle), ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)) and not (name == "progress" and value is None):
            raise TypeError(f"{name} must be True or False; got {_checks.describe(value)}")
    generator = as_generator(rng)
    callbacks = _check_callbacks(callbacks)
    checkpoint = _check_checkpoint_path(checkpoint)
    X, y = model._check_data(X, y, "X", "y")
    if validation_split is not None:
        if validation_data is not None:
            raise ValueError("give validation_data or validation_split, not both")
        validation_split = _checks.check_fraction("validation_split", validation_split,
                                                  low_open=True)
    validation = None
    if validation_data is not None:
        validation = model._check_validation(validation_data)
    resume = checkpoints.resume_source(model, checkpoint)
    signature = {"batch_size": batch_size, "n_samples": len(X), "n_features": X.shape[1],
                 "shuffle": bool(shuffle), "validation_split": validation_split}
    if resume is not None:
        checkpoints.check_signature(resume, signature, checkpoint)
        state = resume.training_state or {}
        split_seed = state.get("split_seed")
    else:
        split_seed = None
    if validation_split is not None:
        if split_seed is None:
            split_seed = int(_draw_seed(generator))
        train_rows, val_rows = _split(model, y, validation_split, split_seed)
        validation = X[val_rows], y[val_rows]
        X, y = X[train_rows], y[train_rows]
    signature["split_seed"] = split_seed
    targets, labels = model._training_targets(y)
    if validation is not None:
        validation = (validation[0], *model._training_targets(validation[1]))
    return Plan(X, targets, labels, validation, epochs, batch_size, print_every, bool(shuffle),
                generator, progress, checkpoint, callbacks, resume, signature)


def _check_callbacks(callbacks) -> list:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else callbacks
    if not isinstance(callbacks, list) or not all(isinstance(c, Callback) for c in callbacks):
        raise TypeError("callbacks must be a list of chainrule.callbacks.Callback objects; got "
                        f"{_checks.describe(callbacks)}")
    return callbacks


def _check_checkpoint_path(checkpoint) -> str | None:
    """A path whose folder exists and is writable, so a bad path fails now, not after an epoch."""
    if checkpoint is None:
        return None
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a file path; got {_checks.describe(checkpoint)}")
    path = os.fspath(checkpoint)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"checkpoint {path!r} is a folder; give a file path")
    if not os.path.isdir(folder):
        raise ValueError(f"checkpoint folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"checkpoint folder {folder!r} is not writable")
    return path


def _draw_seed(generator) -> int:
    if generator is None:
        return np.random.randint(2**31)
    return generator.integers(2**63)


def _split(model, y, fraction: float, seed: int):
    """Training and held-out rows: stratified by class for classification."""
    rng = np.random.default_rng(seed)
    classification = isinstance(model.loss, CategoricalCrossentropy)
    if classification:
        classes = np.argmax(y, axis=1) if y.ndim == 2 else y
    else:
        classes = np.zeros(len(y), dtype=np.intp)
    held_out = []
    for label in np.unique(classes):
        rows = rng.permutation(np.flatnonzero(classes == label))
        held_out.append(rows[:round(len(rows) * fraction)])
    val_rows = np.sort(np.concatenate(held_out))
    if len(val_rows) == 0 or len(val_rows) == len(y):
        raise ValueError(f"validation_split={fraction} leaves {len(y) - len(val_rows)} training "
                         f"and {len(val_rows)} validation samples of {len(y)}; both need some")
    train_rows = np.setdiff1d(np.arange(len(y)), val_rows, assume_unique=True)
    return train_rows, val_rows


# -- starting: resume, callbacks -----------------------------------------------------------------


def _start(model, plan: Plan) -> None:
    """Apply the plan to the model: the first change ``train`` makes."""
    source = plan.resume
    if source is not None and source is not model:
        checkpoints.copy_training_state(source, model)
    if source is not None:
        # The checkpoint's random streams take precedence over rng=: exact resumption.
        if model.global_random_state is not None:
            np.random.set_state(model.global_random_state)
            model.global_random_state = None
    elif plan.rng is not None or model.rng is None:
        model.rng = plan.rng
    model.resume_from_checkpoint = False
    model.stop_training = False
    # The callbacks of this run, where each can see the others (learning-rate callbacks
    # multiply their factors together: see chainrule.schedules).
    model.callbacks = plan.callbacks
    for callback in plan.callbacks:
        callback.set_model(model)
    if source is not None:
        checkpoints.restore_callbacks(model, plan.callbacks)
    model.training_state = dict(plan.signature)


# -- the loop ------------------------------------------------------------------------------------


def _run(model, plan: Plan) -> dict:
    first, last = model.epoch + 1, plan.epochs
    if plan.resume is None:
        last = model.epoch + plan.epochs
    elif last < first:
        warnings.warn(f"the checkpoint already reached epoch {model.epoch} of epochs="
                      f"{plan.epochs}: nothing to train (pass a larger epochs to continue)",
                      stacklevel=3)
    plan.last = last
    model.accuracy.init(plan.labels)
    hooks = {name: [c for c in plan.callbacks if overrides(c, name)]
             for name in ("on_batch_begin", "on_batch_end")}
    book_steps = plan.batch_size is not None
    reporter = Reporter(plan.progress, first, last)
    for callback in plan.callbacks:
        callback.on_train_begin({})
    # Overflow on the way to divergence is reported once, as TrainingDiverged, not as warnings.
    with _reusing_buffers(model), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for epoch in range(first, last + 1):
                for callback in plan.callbacks:
                    callback.on_epoch_begin(epoch, {})
                if book_steps and plan.print_every:
                    reporter.write(f"epoch: {epoch}")
                stats, line_reg_loss = _train_epoch(model, plan, epoch, hooks, reporter)
                _end_epoch(model, plan, epoch, stats, reporter, line_reg_loss)
                reporter.update(stats)
                if model.stop_training:
                    break
        finally:
            reporter.close()
    if plan.validation is not None and plan.print_every and not book_steps and last >= first:
        print(f"validation, acc: {model.history['val_accuracy'][-1]:.3f}, "
              f"loss: {model.history['val_loss'][-1]:.3f}")
    for callback in plan.callbacks:
        callback.on_train_end({})
    return model.history


def _train_epoch(model, plan: Plan, epoch: int, hooks: dict, reporter) -> tuple[dict, float]:
    """One epoch's steps; returns its figures and the penalty its last step started with."""
    loss, accuracy, optimizer = model.loss, model.accuracy, model.optimizer
    loss.new_pass()
    accuracy.new_pass()
    order = None
    if plan.batch_size is not None and plan.n_steps > 1 and plan.shuffle:
        order = _permutation(model, len(plan.X))
    for step in range(plan.n_steps):
        X, targets, labels = _batch(model, plan, step, order)
        for callback in hooks["on_batch_begin"]:
            callback.on_batch_begin(step, {"size": len(X)})
        output = model.forward(X, training=True)
        data_loss = loss.accumulate(loss.sample_losses(output, targets))
        if not math.isfinite(data_loss):
            raise _diverged(model, epoch, step, f"the loss became {data_loss}")
        predictions = model.output_layer_activation.predictions(output)
        batch_accuracy = accuracy.calculate(predictions, labels)
        model.backward(output, targets)
        book_line = plan.print_every and (plan.batch_size is None or (
            step % plan.print_every == 0 or step == plan.n_steps - 1))
        # The book prints the penalty of the parameters this step's loss was computed
        # with, taken before the optimizer moves them.
        step_reg_loss = loss.regularization_loss() if book_line and model._regularized else 0.0
        try:
            optimizer.step(model.trainable_layers)
        except FloatingPointError as error:
            raise _diverged(model, epoch, step, str(error)) from error
        if book_line and plan.batch_size is not None:
            reporter.write(_line(f"step: {step}", batch_accuracy, data_loss, step_reg_loss,
                                 optimizer.current_learning_rate))
        for callback in hooks["on_batch_end"]:
            callback.on_batch_end(step, {"size": len(X), "data_loss": data_loss,
                                         "accuracy": batch_accuracy})
    # The book's epoch figures: means over every sample of the epoch, and the penalty of
    # the parameters as the epoch leaves them.
    data_loss = loss.calculate_accumulated()
    reg_loss = loss.regularization_loss() if model._regularized else 0.0
    return {"loss": data_loss + reg_loss, "accuracy": accuracy.calculate_accumulated(),
            "data_loss": data_loss, "reg_loss": reg_loss,
            "lr": float(optimizer.current_learning_rate)}, step_reg_loss


def _end_epoch(model, plan: Plan, epoch: int, stats: dict, reporter,
               line_reg_loss: float) -> None:
    book_steps = plan.batch_size is not None
    if plan.validation is not None:
        stats["val_loss"], stats["val_accuracy"] = _validate(model, plan, epoch)
    model.epoch = epoch
    for key, value in stats.items():
        model.history.setdefault(key, []).append(value)
    for callback in plan.callbacks:
        callback.on_epoch_end(epoch, dict(stats))
    if plan.checkpoint is not None:
        checkpoints.keep_callback_state(model, plan.callbacks)
        model.save_checkpoint(plan.checkpoint)
    if not plan.print_every:
        return
    if book_steps:
        reporter.write(_line("training", stats["accuracy"], stats["data_loss"],
                             stats["reg_loss"], stats["lr"]))
        if plan.validation is not None:
            reporter.write(f"validation, acc: {stats['val_accuracy']:.3f}, "
                           f"loss: {stats['val_loss']:.3f}")
    elif epoch % plan.print_every == 0 or epoch == plan.last or model.stop_training:
        # Chapter 18's line: the penalty before the epoch's step, as its loss.
        line = _line(f"epoch: {epoch}", stats["accuracy"], stats["data_loss"],
                     line_reg_loss, stats["lr"])
        if plan.validation is not None:
            # The book's line first, then the held-out figures of the same epoch.
            line += f", val_acc: {stats['val_accuracy']:.3f}, val_loss: {stats['val_loss']:.3f}"
        reporter.write(line)


def _validate(model, plan: Plan, epoch: int) -> tuple[float, float]:
    """Mean loss and accuracy on the held-out data, batch by batch, without dropout."""
    X, targets, labels = plan.validation
    loss_sum, matches = 0.0, 0
    step = plan.batch_size or len(X)
    for start in range(0, len(X), step):
        rows = slice(start, start + step)
        output = model.forward(X[rows], training=False)
        loss_sum += float(np.add.reduce(model.loss.sample_losses(output, targets[rows])))
        predictions = model.output_layer_activation.predictions(output)
        matches += int(np.count_nonzero(model.accuracy.compare(predictions, labels[rows])))
    if not math.isfinite(loss_sum):
        raise TrainingDiverged(f"training diverged at epoch {epoch}: the validation loss became "
                               f"{loss_sum}. Try a lower learning rate (now "
                               f"{model.optimizer.current_learning_rate:g}).")
    return loss_sum / len(X), matches / labels.size


def _line(head: str, accuracy: float, data_loss: float, reg_loss: float, lr: float) -> str:
    """The book's summary line."""
    return (f"{head}, acc: {accuracy:.3f}, loss: {data_loss + reg_loss:.3f} "
            f"(data_loss: {data_loss:.3f}, reg_loss: {reg_loss:.3f}), lr: {lr}")


def _diverged(model, epoch: int, step: int, what: str) -> TrainingDiverged:
    return TrainingDiverged(
        f"training diverged at epoch {epoch}, step {step + 1}: {what}. Try a lower "
        f"learning rate (now {model.optimizer.current_learning_rate:g}). The parameters are "
        "those before that step."
    )


# -- batches -------------------------------------------------------------------------------------


def _batch(model, plan: Plan, step: int, order):
    if plan.batch_size is None:
        return plan.X, plan.targets, plan.labels
    rows = slice(step * plan.batch_size, (step + 1) * plan.batch_size)
    if order is None:
        return plan.X[rows], plan.targets[rows], plan.labels[rows]
    return _gather(model, order[rows], plan.X, plan.targets, plan.labels)


def _gather(model, rows, *arrays):
    """The ``rows`` of each array, copied into batch arrays reused every step."""
    return [np.take(array, rows, axis=0,
                    out=model._buffer(f"batch{i}", (len(rows), *array.shape[1:]), array.dtype))
            for i, array in enumerate(arrays)]


def _permutation(model, n: int) -> np.ndarray:
    if model.rng is None:
        return np.random.permutation(n)
    return model.rng.permutation(n)


@contextlib.contextmanager
def _reusing_buffers(model):
    """While training, results go into arrays reused every step; never outside it."""
    parts = [*model.layers, model.loss, model.accuracy, model]
    if model.fused_loss is not None:
        parts.append(model.fused_loss)
    for part in parts:
        part.reuse_buffers = True
    # Nothing upstream of the first layer needs its ∂L/∂inputs.
    model.layers[0].compute_dinputs = False
    try:
        yield
    finally:
        for part in parts:
            part.reuse_buffers = False
        model.layers[0].compute_dinputs = True
