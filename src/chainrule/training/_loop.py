"""The training loop behind ``Model.train``: orchestration only, no calculus.

Each step is the book's: forward through every layer, the loss, backward
through every layer, one optimizer step. Around it this module does what a
user of the book's ``Model`` sees — the summary lines, the accumulated epoch
figures (``loss.calculate_accumulated``) — and what a real tool needs: every
argument checked before anything changes, callbacks, held-out data,
checkpoints that resume exactly, and divergence reported as
``TrainingDiverged`` with the last finite parameters kept. The checks and the
decisions made before the first change (the ``Plan``) are in ``_plan.py``.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np

from . import _checkpoints as checkpoints
from ._callbacks import overrides
from ._plan import Plan, make_plan
from ._progress import Reporter


class TrainingDiverged(FloatingPointError):
    """The loss, a gradient or the parameters became NaN or infinite during training."""


def train(model, X, y, *, epochs=1, batch_size=None, validation_data=None, print_every=1,
          shuffle=True, rng=None, progress=None, checkpoint=None, callbacks=None,
          validation_split=None) -> dict:
    """What ``Model.train`` does; see its docstring."""
    plan = make_plan(model, X, y, epochs, batch_size, validation_data, print_every, shuffle,
                     rng, progress, checkpoint, callbacks, validation_split)
    for callback in plan.callbacks:
        callback.check_run(figures(plan))  # a misspelt monitor is refused before epoch 1
    _start(model, plan)
    return _run(model, plan)


def figures(plan: Plan) -> tuple[str, ...]:
    """The names of the figures every epoch of the run logs, in the order of its logs
    (what ``_train_epoch`` and ``_end_epoch`` put in ``stats``)."""
    names = ("loss", "accuracy", "data_loss", "reg_loss", "lr")
    return names + (("val_loss", "val_accuracy") if plan.validation is not None else ())


# -- starting: resume, callbacks -----------------------------------------------------------------


def _start(model, plan: Plan) -> None:
    """Apply the plan to the model: the first change ``train`` makes."""
    if plan.commit_draw is not None:
        plan.commit_draw()  # the split's seed was drawn from a copy of the stream
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
