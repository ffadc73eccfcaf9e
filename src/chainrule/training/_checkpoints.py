"""Resuming from checkpoints: which file to continue from, whether it fits this run,
and carrying the training state (optimizer, random streams, callbacks) across.

A checkpoint (``train(..., checkpoint=path)``) is rewritten after every epoch.
Running the same script again continues from it exactly; a checkpoint of
another model, or of other data or batch size, is refused and left as it is.
"""

from __future__ import annotations

import os

import numpy as np

from .. import files


def resume_source(model, checkpoint):
    """The model to continue from: this one if loaded from a checkpoint, or the file's.

    An existing checkpoint file resumes the run when it is ahead of this model (the
    same script run again after a crash); when this model is as far or further (it
    wrote the file itself), training goes on and overwrites it. A file that holds
    another model, or no checkpoint at all, is refused and left alone.
    """
    if checkpoint is not None:  # a class the file cannot record is refused before epoch 1
        files.check_savable(model)
    if model.resume_from_checkpoint:
        return model
    if checkpoint is None or not os.path.exists(checkpoint):
        return None
    saved = type(model).load(checkpoint)  # the model's own class reads its files
    if not saved.resume_from_checkpoint:
        raise ValueError(f"checkpoint {checkpoint!r} exists and is a saved model, not a "
                         "checkpoint; refusing to overwrite it")
    _check_same_model(model, saved, checkpoint)
    return saved if saved.epoch > model.epoch else None


def _check_same_model(model, saved, checkpoint) -> None:
    pairs = [("layers", model.layers, saved.layers), ("loss", [model.loss], [saved.loss]),
             ("optimizer", [model.optimizer], [saved.optimizer])]
    for what, ours, theirs in pairs:
        if len(ours) != len(theirs) or not all(map(_same_kind, ours, theirs)):
            raise ValueError(f"checkpoint {checkpoint!r} holds another model ({what}: the file "
                             f"has {theirs}, this model {ours}); refusing to resume from or "
                             "overwrite it — give another checkpoint path")


def _same_kind(a, b) -> bool:
    """The same class (or a book subclass of it) with the same hyper-parameters."""
    related = isinstance(a, type(b)) or isinstance(b, type(a))
    return related and a.config() == b.config()


def check_signature(resume, signature: dict, checkpoint) -> None:
    saved = resume.training_state or {}
    for key in ("batch_size", "n_samples", "n_features", "shuffle", "validation_split"):
        if key in saved and saved[key] != signature[key]:
            where = f"checkpoint {checkpoint!r}" if checkpoint else "the loaded checkpoint"
            raise ValueError(f"{where} was trained with {key}={saved[key]!r}; this call has "
                             f"{key}={signature[key]!r}. Resuming exactly needs the same data and "
                             "batches: pass the original arguments, or start a new checkpoint")


def copy_training_state(source, model) -> None:
    """Continue ``model`` from the checkpoint ``source`` (same architecture, checked)."""
    model.set_parameters(source.get_parameters())
    for ours, theirs in zip(model.layers, source.layers, strict=True):
        # Non-trainable state (Normalization's mean and std) continues as the file has it.
        names = getattr(theirs, "state_arrays", ())
        if names and all(getattr(theirs, name, None) is not None for name in names):
            ours.set_state_arrays(**{name: getattr(theirs, name) for name in names})
    optimizer, saved = model.optimizer, source.optimizer
    for ours, theirs in zip(model.layers, source.layers, strict=True):
        for name in ours.params:
            state = saved.get_state(theirs, name)
            if state:
                optimizer.set_state(ours, name, state)
    optimizer.iterations = saved.iterations
    optimizer.current_learning_rate = saved.current_learning_rate
    model.epoch, model.history = source.epoch, {k: list(v) for k, v in source.history.items()}
    model.rng = source.rng
    for ours, theirs in zip(model.layers, source.layers, strict=True):
        if hasattr(theirs, "rng"):
            ours.rng = theirs.rng
    model.global_random_state = source.global_random_state
    model.training_state = source.training_state
    model.training_arrays = dict(source.training_arrays)


def restore_callbacks(model, callbacks) -> None:
    """Give each callback the state it had when the checkpoint was written."""
    states = (model.training_state or {}).get("callbacks") or []
    for i, (callback, saved) in enumerate(zip(callbacks, states, strict=False)):
        if not isinstance(saved, dict) or saved.get("class") != type(callback).__name__:
            continue
        state = dict(saved.get("state", {}))
        prefix = f"callbacks/{i}/"
        arrays = {key[len(prefix):]: value for key, value in model.training_arrays.items()
                  if key.startswith(prefix)}
        if arrays:
            state["arrays"] = arrays
        callback.set_state(state)


def keep_callback_state(model, callbacks) -> None:
    states, arrays = [], {}
    for i, callback in enumerate(callbacks):
        state = dict(callback.get_state())
        for key, value in state.pop("arrays", {}).items():
            arrays[f"callbacks/{i}/{key}"] = np.asarray(value)
        states.append({"class": type(callback).__name__, "state": state})
    model.training_state = {**(model.training_state or {}), "callbacks": states}
    model.training_arrays = arrays
