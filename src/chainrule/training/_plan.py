"""The plan of a training run: every argument of ``Model.train`` checked, and what the
run will do decided, before anything changes.

``make_plan`` checks the arguments (through the Model's checks for the data),
finds the checkpoint to resume from, holds out ``validation_split`` of the data
(stratified by class for classification) and turns the targets into what the
loss and the accuracy compare with. The ``Plan`` it returns is all the loop in
``training.py`` needs; a bad argument is refused here, with the model untouched.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, field

import numpy as np

from .. import _checks
from .._random import as_generator
from ..nn import CategoricalCrossentropy
from . import _checkpoints as checkpoints
from ._callbacks import Callback
from ._data_checks import check_batch_size, check_data, check_validation
from ._schedulers import as_callback


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
    # The split's seed is drawn from a copy of the run's stream (rng, or NumPy's global
    # state): ``training._start`` calls this to move the stream itself on by that draw, so
    # that a run refused after the plan (a callback's check_run) leaves it where it was.
    commit_draw: object = None

    @property
    def n_steps(self) -> int:
        return 1 if self.batch_size is None else math.ceil(len(self.X) / self.batch_size)


def make_plan(model, X, y, epochs, batch_size, validation_data, print_every, shuffle, rng,
              progress, checkpoint, callbacks, validation_split) -> Plan:
    """Check every argument of ``train`` and decide what it will do; change nothing."""
    if not model._finalized:
        model.finalize()
    if model.optimizer is None:
        raise ValueError("Model has no optimizer: call model.set(optimizer=...) first")
    epochs = _checks.check_positive_int("epochs", epochs, allow_zero=True)
    batch_size = check_batch_size(batch_size)
    if print_every is not None:
        print_every = _checks.check_positive_int("print_every", print_every)
    for name, value in (("shuffle", shuffle), ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)) and not (name == "progress" and value is None):
            raise TypeError(f"{name} must be True or False; got {_checks.describe(value)}")
    generator = as_generator(rng)
    callbacks = _check_callbacks(callbacks)
    checkpoint = _check_checkpoint_path(checkpoint)
    X, y = check_data(model, X, y, "X", "y")
    if validation_split is not None:
        if validation_data is not None:
            raise ValueError("give validation_data or validation_split, not both")
        validation_split = _checks.check_fraction("validation_split", validation_split,
                                                  low_open=True)
    validation = None
    if validation_data is not None:
        validation = check_validation(model, validation_data)
    resume = checkpoints.resume_source(model, checkpoint)
    signature = {"batch_size": batch_size, "n_samples": len(X), "n_features": X.shape[1],
                 "shuffle": bool(shuffle), "validation_split": validation_split}
    if resume is not None:
        checkpoints.check_signature(resume, signature, checkpoint)
        state = resume.training_state or {}
        split_seed = state.get("split_seed")
    else:
        split_seed = None
    commit_draw = None
    if validation_split is not None:
        if split_seed is None:
            split_seed, commit_draw = _draw_seed(generator)
        train_rows, val_rows = _split(model, y, validation_split, split_seed)
        validation = X[val_rows], y[val_rows]
        X, y = X[train_rows], y[train_rows]
    signature["split_seed"] = split_seed
    targets, labels = model._training_targets(y)
    if validation is not None:
        validation = (validation[0], *model._training_targets(validation[1]))
    return Plan(X, targets, labels, validation, epochs, batch_size, print_every, bool(shuffle),
                generator, progress, checkpoint, callbacks, resume, signature,
                commit_draw=commit_draw)


def _check_callbacks(callbacks) -> list:
    if callbacks is None:
        return []
    callbacks = as_callback(callbacks)
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else callbacks
    if isinstance(callbacks, list):
        callbacks = [as_callback(c) for c in callbacks]  # a schedule, applied by its callback
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


def _draw_seed(generator):
    """The split's seed, drawn from a copy of ``generator`` (NumPy's global state when
    None), and the function that moves the stream itself on by that draw: planning
    changes nothing, not even a Generator the caller passed as ``rng``."""
    if generator is None:
        stream = np.random.RandomState()
        stream.set_state(np.random.get_state())
        seed, after = int(stream.randint(2**31)), stream.get_state()
        return seed, lambda: np.random.set_state(after)
    stream = copy.deepcopy(generator)
    seed, after = int(stream.integers(2**63)), stream.bit_generator.state

    def commit():
        generator.bit_generator.state = after

    return seed, commit


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
