"""The Model's checks at its boundary: the data ``train``, ``evaluate`` and ``predict`` take.

Each is checked once, before anything changes, and a bad one raises
``ValueError``/``TypeError`` naming the argument; inside the loops the Model
and its layers trust their inputs. ``X`` is made an array of the model's dtype
with the first layer's width (or, for a first ``Normalization``, kept as given:
the layer standardises it in float64); ``y`` becomes class labels for cross-entropy or
target rows of the output's width for the other losses.
"""

from __future__ import annotations

import numpy as np

from .. import _checks
from ..nn import CategoricalCrossentropy, Normalization


def check_X(model, X, name: str) -> np.ndarray:
    """``X`` as a non-empty (n_samples, n_features) array of ``model.dtype``, or as given
    (any float dtype) when the first layer is an adapted ``Normalization``."""
    X = _checks.as_float_array(name, X)
    if len(X) == 0:
        raise ValueError(f"{name} is empty: it must hold at least one sample")
    first = model.layers[0]
    n_inputs = getattr(first, "n_inputs", None)
    if n_inputs is not None and X.shape[1] != n_inputs:
        raise ValueError(f"{name} must have {n_inputs} features (columns) for {first!r}; "
                         f"got shape {X.shape}")
    if isinstance(first, Normalization) and first.mean is not None:
        # Cast first, a column of 1e8 + N(0, 3) would keep 3 values of 399 in float32;
        # the layer subtracts μ in float64, and then hands the model's dtype on.
        return first.take_model_inputs(name, X, model.dtype)
    return _checks.check_dtype_range(name, X, model.dtype).astype(model.dtype, copy=False)


def check_data(model, X, y, x_name: str, y_name: str):
    """``X`` as ``check_X`` makes it, and ``y`` with one entry per sample that fits the loss."""
    X = check_X(model, X, x_name)
    y_array = np.asarray(y)
    if y_array.ndim == 0 or len(y_array) != len(X):
        given = "a scalar" if y_array.ndim == 0 else f"{len(y_array)}"
        raise ValueError(f"{x_name} and {y_name} must have the same number of samples; "
                         f"got {len(X)} and {given}")
    n_outputs, output_dtype = _output_of(model, X)
    if isinstance(model.loss, CategoricalCrossentropy):
        y_array = _checks.check_labels(y_name, y_array, len(X), n_outputs)
    elif model.loss is not None:
        # Targets in the output's dtype: the model's, or float64 after an inverted
        # Normalization (targets in their own units, e.g. 1e8 + N(0, 3), keep their digits).
        y_array = _checks.check_targets(y_name, y_array, (len(X), n_outputs))
        y_array = _checks.check_dtype_range(y_name, y_array, output_dtype)
        y_array = y_array.astype(output_dtype, copy=False)
    return X, y_array


def check_validation(model, validation_data):
    """Validation data, checked exactly like training data."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise TypeError("validation_data must be a tuple (X_val, y_val); "
                        f"got {_checks.describe(validation_data)}")
    return check_data(model, *validation_data, "validation_data X", "validation_data y")


def check_batch_size(batch_size):
    """``None`` (the whole set at once) or a positive int."""
    if batch_size is None:
        return None
    return _checks.check_positive_int("batch_size", batch_size)


def _output_of(model, X) -> tuple[int, np.dtype]:
    """The width and dtype of the network's output: one sample through it tells them,
    whatever the layers."""
    # Only the shape and dtype count: a value that overflows on the way is the run's to
    # report (as TrainingDiverged, or the loss's refusal of a non-finite output), not a
    # warning here.
    with np.errstate(all="ignore"):
        output = model.forward(X[:1], training=False)
    model._output_width = output.shape[1]
    return model._output_width, output.dtype
